//! Reads each section of the pipeline file into its typed settings.

use std::collections::HashSet;
use std::net::SocketAddr;
use std::path::{Component, Path, PathBuf};

use super::endpoint::{check_endpoint, has_ipv6_host};
use super::reader::{Problem, Problems, Section};
use super::{
    AdminConfig, Config, Decoding, ExportConfig, LabelSource, MetricConfig, MonitorConfig,
    PipelineConfig, ProcessConfig, SinkConfig, SocketConfig, SocketKind,
};
use crate::event::FieldPath;

/// The label source that names the topic rather than a body field.
pub const TOPIC_LABEL: &str = "$topic";

const I32_MAX: i64 = i32::MAX as i64;

pub(super) fn read(table: &toml::Table) -> Result<Config, Vec<Problem>> {
    let problems = Problems::default();
    let root = Section::root(table, &problems);

    // A section given with the wrong type is reported once, as a type problem, and not again as
    // missing.
    let sockets = root.table("ingest").map(|s| ingest(&s)).unwrap_or_default();
    if sockets.is_empty() && !problems.has_under("ingest") {
        problems.add("ingest.sockets", "at least one socket is required");
    }
    let process = with_default(root.table("process"), process);
    let metrics = root
        .table("collect")
        .map(|s| collect(&s))
        .unwrap_or_default();
    let export = root.table("export").map(|s| export(&s));
    if !root.contains("export") {
        let why = "an [export] section with at least one sink is required";
        root.problem("export", why);
    }
    let admin = with_default(root.table("admin"), admin);
    let monitor = with_default(root.table("monitor"), monitor);
    let pipeline = with_default(root.table("pipeline"), pipeline);
    root.finish();

    let problems = problems.into_vec();
    match export {
        Some(export) if problems.is_empty() => Ok(Config {
            sockets,
            process,
            metrics,
            export,
            admin,
            monitor,
            pipeline,
        }),
        _ => Err(problems),
    }
}

fn with_default<T>(section: Option<Section<'_>>, read: impl for<'b> Fn(&Section<'b>) -> T) -> T {
    let empty = toml::Table::new();
    let problems = Problems::default();
    match section {
        Some(s) => {
            let value = read(&s);
            s.finish();
            value
        }
        None => read(&Section::root(&empty, &problems)),
    }
}

fn ingest(section: &Section<'_>) -> Vec<SocketConfig> {
    let tables = section.tables("sockets");
    let mut names = HashSet::new();
    let mut sockets = Vec::with_capacity(tables.len());
    for (i, s) in tables.into_iter().enumerate() {
        if let Some(socket) = socket(&s, i) {
            if !names.insert(socket.name.clone()) {
                s.problem("name", format!("duplicate socket name {:?}", socket.name));
            }
            sockets.push(socket);
        }
        s.finish();
    }
    section.finish();
    sockets
}

/// Reads one socket; every key is read whatever the others hold, so that one bad value is not
/// followed by a false "unknown key".
fn socket(s: &Section<'_>, index: usize) -> Option<SocketConfig> {
    let name = s
        .non_empty_string("name")
        .unwrap_or_else(|| format!("socket{index}"));
    let kind = socket_kind(s);
    let bind = endpoints(s, "bind");
    let connect = endpoints(s, "connect");
    require_endpoint(s, &bind, &connect);
    let subscribe = subscriptions(s, kind);
    let ipv6 = s
        .bool("ipv6")
        .unwrap_or_else(|| bind.iter().chain(&connect).any(|e| has_ipv6_host(e)));

    // Every option is read before a bad type drops the socket, so that each is still checked.
    let ms = |key, min, default| s.integer(key, min, I32_MAX).unwrap_or(default) as i32;
    let socket = SocketConfig {
        name,
        kind: kind.unwrap_or(SocketKind::Pull),
        bind,
        connect,
        subscribe,
        receive_hwm: ms("receive_hwm", 0, 1000),
        max_message_bytes: s.integer("max_message_bytes", 1, i64::MAX),
        reconnect_interval_ms: ms("reconnect_interval_ms", 1, 100),
        reconnect_interval_max_ms: ms("reconnect_interval_max_ms", 0, 0),
        heartbeat_interval_ms: ms("heartbeat_interval_ms", 0, 0),
        heartbeat_timeout_ms: ms("heartbeat_timeout_ms", 0, 0),
        tcp_keepalive: s.bool("tcp_keepalive"),
        ipv6,
    };
    kind.is_some().then_some(socket)
}

/// Reports a socket without endpoints, unless its endpoint lists were already reported.
fn require_endpoint(s: &Section<'_>, bind: &[String], connect: &[String]) {
    let reported = s.has_problem("bind") || s.has_problem("connect");
    if bind.is_empty() && connect.is_empty() && !reported {
        let why = "a socket needs at least one endpoint in bind or connect";
        s.problem("bind", why);
    }
}

fn socket_kind(s: &Section<'_>) -> Option<SocketKind> {
    match s.required_string("type")?.as_str() {
        "sub" => Some(SocketKind::Sub),
        "pull" => Some(SocketKind::Pull),
        other => {
            let why = format!("must be \"sub\" or \"pull\", found {other:?}");
            s.problem("type", why);
            None
        }
    }
}

/// The topic prefixes; absent means every topic.
fn subscriptions(s: &Section<'_>, kind: Option<SocketKind>) -> Vec<String> {
    let Some(list) = s.strings("subscribe") else {
        return vec![String::new()];
    };
    match kind {
        Some(SocketKind::Pull) => s.problem("subscribe", "only a sub socket subscribes to topics"),
        Some(SocketKind::Sub) if list.is_empty() && !s.has_problem("subscribe") => {
            let why = "an empty list subscribes to no topic, so the socket would receive nothing; \
                       use [\"\"] to receive every topic";
            s.problem("subscribe", why);
        }
        _ => {}
    }
    list.into_iter().map(|(_, prefix)| prefix).collect()
}

fn endpoints(s: &Section<'_>, key: &'static str) -> Vec<String> {
    let list = s.strings(key).unwrap_or_default();
    for (i, endpoint) in &list {
        if let Err(why) = check_endpoint(endpoint) {
            s.item_problem(key, *i, why);
        }
    }
    list.into_iter().map(|(_, endpoint)| endpoint).collect()
}

fn process(s: &Section<'_>) -> ProcessConfig {
    let frames = s
        .strings("frames")
        .unwrap_or_else(|| vec![(0, "topic".into()), (1, "body".into())]);
    let (topic_frame, body_frame) = frame_roles(s, &frames);
    let decode = match s.string("decode").as_deref() {
        None | Some("json") => Decoding::Json,
        Some("text") => Decoding::Text,
        Some("bytes") => Decoding::Bytes,
        Some(other) => {
            s.problem(
                "decode",
                format!("must be \"json\", \"text\" or \"bytes\", found {other:?}"),
            );
            Decoding::Json
        }
    };
    let max = s
        .integer("max_message_bytes", 1, i64::MAX)
        .unwrap_or(1 << 20);
    ProcessConfig {
        topic_frame,
        body_frame,
        decode,
        max_message_bytes: usize::try_from(max).unwrap_or(usize::MAX),
    }
}

/// The positions of the topic and body frames; `frames` holds each role with its position.
fn frame_roles(s: &Section<'_>, frames: &[(usize, String)]) -> (Option<usize>, usize) {
    let mut topic = None;
    let mut body = None;
    for &(i, ref role) in frames {
        let slot = match role.as_str() {
            "topic" => &mut topic,
            "body" => &mut body,
            "_" => continue,
            other => {
                let why = format!("unknown frame role {other:?}; use \"topic\", \"body\" or \"_\"");
                s.item_problem("frames", i, why);
                continue;
            }
        };
        if slot.replace(i).is_some() {
            s.item_problem("frames", i, format!("{role:?} appears more than once"));
        }
    }
    if body.is_none() {
        s.problem("frames", "one frame must have the role \"body\"");
    }
    (topic, body.unwrap_or(0))
}

fn collect(section: &Section<'_>) -> Vec<MetricConfig> {
    let mut names = HashSet::new();
    let mut metrics = Vec::new();
    for m in section.tables("metrics") {
        let name = m.required_string("name").unwrap_or_default();
        if !name.is_empty() && !names.insert(name.clone()) {
            m.problem("name", format!("duplicate metric name {name:?}"));
        }
        metrics.push(MetricConfig {
            name,
            field: m.string("field").and_then(|f| field_path(&m, "field", &f)),
            label: m.string("label").and_then(|l| label(&m, &l)),
            max_labels: m.integer("max_labels", 1, 100_000).unwrap_or(100) as usize,
            window: m.integer("window", 1, 1_000_000).unwrap_or(1000) as usize,
        });
        m.finish();
    }
    section.finish();
    metrics
}

fn field_path(s: &Section<'_>, key: &str, text: &str) -> Option<FieldPath> {
    let parsed = FieldPath::parse(text);
    if parsed.is_none() {
        s.problem(key, format!("{text:?} is not a field path like \"a.b.c\""));
    }
    parsed
}

fn label(s: &Section<'_>, text: &str) -> Option<LabelSource> {
    if text == TOPIC_LABEL {
        return Some(LabelSource::Topic);
    }
    field_path(s, "label", text).map(LabelSource::Field)
}

fn export(section: &Section<'_>) -> ExportConfig {
    let sinks = sinks(section);
    let dead_letter = section.required_string("dead_letter").map(PathBuf::from);
    if let Some(sink) = dead_letter
        .as_deref()
        .and_then(|dl| file_sink_at(&sinks, dl))
    {
        let why = format!("must not be the same file as sink {sink:?}");
        section.problem("dead_letter", why);
    }
    section.finish();
    ExportConfig {
        sinks,
        dead_letter: dead_letter.unwrap_or_default(),
    }
}

/// The name of the file sink that writes `path`, however either path is spelled.
fn file_sink_at<'s>(sinks: &'s [SinkConfig], path: &Path) -> Option<&'s str> {
    let target = lexical(path);
    sinks.iter().find_map(|sink| match sink {
        SinkConfig::File { name, path } if lexical(path) == target => Some(name.as_str()),
        _ => None,
    })
}

fn sinks(section: &Section<'_>) -> Vec<SinkConfig> {
    let tables = section.tables("sinks");
    if tables.is_empty() && !section.has_problem("sinks") {
        section.problem("sinks", "at least one sink is required");
    }
    let mut taken = Taken::default();
    let mut out = Vec::new();
    for s in tables {
        out.extend(sink(&s, &mut taken));
        s.finish();
    }
    out
}

/// Reads one sink; every key is read whatever the type holds, so that a bad type is not
/// followed by a false "unknown key".
fn sink(s: &Section<'_>, taken: &mut Taken) -> Option<SinkConfig> {
    let kind = s.required_string("type");
    let name = sink_name(s, kind.as_deref());
    taken.name(s, &name);
    let path = s.non_empty_string("path").map(PathBuf::from);
    match kind.as_deref()? {
        "file" => file_sink(s, name, path, taken),
        "stdout" => {
            if path.is_some() {
                s.problem("path", "only a file sink has a path");
            }
            Some(SinkConfig::Stdout { name })
        }
        other => {
            let why = format!("must be \"file\" or \"stdout\", found {other:?}");
            s.problem("type", why);
            None
        }
    }
}

/// The sink's name, by default its type.
fn sink_name(s: &Section<'_>, kind: Option<&str>) -> String {
    match s.non_empty_string("name") {
        Some(name) => name,
        // Already reported; left empty so that it takes no part in the duplicate check.
        None if s.contains("name") => String::new(),
        None => kind.unwrap_or_default().to_owned(),
    }
}

fn file_sink(
    s: &Section<'_>,
    name: String,
    path: Option<PathBuf>,
    taken: &mut Taken,
) -> Option<SinkConfig> {
    let Some(path) = path else {
        s.require("path");
        return None;
    };
    taken.file(s, &path);
    Some(SinkConfig::File { name, path })
}

/// The sink names and files claimed so far.
#[derive(Default)]
struct Taken {
    names: HashSet<String>,
    files: HashSet<PathBuf>,
}

impl Taken {
    fn name(&mut self, s: &Section<'_>, name: &str) {
        if !name.is_empty() && !self.names.insert(name.to_owned()) {
            let why = format!("duplicate sink name {name:?}; give each sink a name");
            s.problem("name", why);
        }
    }

    fn file(&mut self, s: &Section<'_>, path: &Path) {
        if !self.files.insert(lexical(path)) {
            s.problem("path", "two sinks write the same file");
        }
    }
}

/// `path` made absolute against the current directory, with `.` and `..` resolved by text alone,
/// so that two spellings of one file compare equal without the filesystem being touched.
fn lexical(path: &Path) -> PathBuf {
    // NOTE: `link/../x` is taken to be `x` even when `link` is a symlink elsewhere; `check` must
    // work before the files or their directories exist.
    let absolute = std::path::absolute(path).unwrap_or_else(|_| path.to_owned());
    let mut out = PathBuf::new();
    for part in absolute.components() {
        match part {
            Component::CurDir => {}
            Component::ParentDir if ends_in_name(&out) => {
                out.pop();
            }
            Component::ParentDir if out.has_root() => {}
            other => out.push(other),
        }
    }
    out
}

fn ends_in_name(path: &Path) -> bool {
    matches!(path.components().next_back(), Some(Component::Normal(_)))
}

fn admin(s: &Section<'_>) -> AdminConfig {
    let address = s
        .string("address")
        .unwrap_or_else(|| "127.0.0.1:9955".into());
    let parsed = address.parse::<SocketAddr>().unwrap_or_else(|_| {
        s.problem(
            "address",
            format!("{address:?} is not an address like 127.0.0.1:9955"),
        );
        SocketAddr::from(([127, 0, 0, 1], 9955))
    });
    AdminConfig {
        enabled: s.bool("enabled").unwrap_or(true),
        address: parsed,
    }
}

fn monitor(s: &Section<'_>) -> MonitorConfig {
    MonitorConfig {
        window: s.integer("window", 1, 1_000_000).unwrap_or(1000) as usize,
        summary_interval_s: s.integer("summary_interval_s", 0, 86_400).unwrap_or(10) as u64,
    }
}

fn pipeline(s: &Section<'_>) -> PipelineConfig {
    PipelineConfig {
        batch_max: s.integer("batch_max", 1, 65_536).unwrap_or(256) as usize,
        queue_batches: s.integer("queue_batches", 1, 65_536).unwrap_or(16) as usize,
        shutdown_deadline_ms: s
            .integer("shutdown_deadline_ms", 0, 3_600_000)
            .unwrap_or(5000) as u64,
    }
}
