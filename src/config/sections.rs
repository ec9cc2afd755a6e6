//! Reads each section of the pipeline file into its typed settings.

use std::collections::HashSet;
use std::net::SocketAddr;
use std::path::PathBuf;

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
    let sockets = root.table("ingest").map(|s| ingest(&s)).unwrap_or_default();
    if sockets.is_empty() && !problems.has_under("ingest") {
        problems.add("ingest.sockets", "at least one socket is required");
    }
    let process = with_default(root.table("process"), process);
    let metrics = root
        .table("collect")
        .map(|s| collect(&s))
        .unwrap_or_default();
    let export = export(root.table("export"), &problems);
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

fn socket(s: &Section<'_>, index: usize) -> Option<SocketConfig> {
    let name = s.string("name").unwrap_or_else(|| format!("socket{index}"));
    let kind = match s.required_string("type").as_deref() {
        Some("sub") => Some(SocketKind::Sub),
        Some("pull") => Some(SocketKind::Pull),
        Some(other) => {
            s.problem(
                "type",
                format!("must be \"sub\" or \"pull\", found {other:?}"),
            );
            None
        }
        None => None,
    };
    let bind = endpoints(s, "bind");
    let connect = endpoints(s, "connect");
    if bind.is_empty() && connect.is_empty() {
        s.problem(
            "bind",
            "a socket needs at least one endpoint in bind or connect",
        );
    }
    let subscribe = s.strings("subscribe");
    if subscribe.is_some() && kind == Some(SocketKind::Pull) {
        s.problem("subscribe", "only a sub socket subscribes to topics");
    }
    let ms = |key, min, default| s.integer(key, min, I32_MAX).unwrap_or(default) as i32;
    let receive_hwm = ms("receive_hwm", 0, 1000);
    let reconnect_interval_ms = ms("reconnect_interval_ms", 1, 100);
    let reconnect_interval_max_ms = ms("reconnect_interval_max_ms", 0, 0);
    let heartbeat_interval_ms = ms("heartbeat_interval_ms", 0, 0);
    let heartbeat_timeout_ms = ms("heartbeat_timeout_ms", 0, 0);
    let max_message_bytes = s.integer("max_message_bytes", 1, i64::MAX);
    let tcp_keepalive = s.bool("tcp_keepalive");
    Some(SocketConfig {
        name,
        kind: kind?,
        bind,
        connect,
        subscribe: subscribe.unwrap_or_else(|| vec![String::new()]),
        receive_hwm,
        max_message_bytes,
        reconnect_interval_ms,
        reconnect_interval_max_ms,
        heartbeat_interval_ms,
        heartbeat_timeout_ms,
        tcp_keepalive,
    })
}

fn endpoints(s: &Section<'_>, key: &'static str) -> Vec<String> {
    let list = s.strings(key).unwrap_or_default();
    for (i, endpoint) in list.iter().enumerate() {
        if let Err(why) = check_endpoint(endpoint) {
            s.problem(&format!("{key}[{i}]"), why);
        }
    }
    list
}

/// Checks the shape of a ZeroMQ endpoint; libzmq has the last word when it binds or connects.
pub fn check_endpoint(endpoint: &str) -> Result<(), String> {
    let Some((transport, address)) = endpoint.split_once("://") else {
        return Err(format!(
            "{endpoint:?} is not an endpoint like tcp://127.0.0.1:5556"
        ));
    };
    if address.is_empty() {
        return Err(format!("{endpoint:?} has no address"));
    }
    match transport {
        "tcp" | "ws" => {
            let port = address
                .rsplit_once(':')
                .map(|(_, p)| p.split('/').next().unwrap_or(p));
            match port {
                Some("*") => Ok(()),
                Some(p) if p.parse::<u16>().is_ok() => Ok(()),
                _ => Err(format!(
                    "{endpoint:?} needs a port, such as tcp://127.0.0.1:5556"
                )),
            }
        }
        "ipc" | "inproc" | "pgm" | "epgm" | "udp" | "vmci" => Ok(()),
        other => Err(format!("unknown transport {other:?} in {endpoint:?}")),
    }
}

fn process(s: &Section<'_>) -> ProcessConfig {
    let frames = s
        .strings("frames")
        .unwrap_or_else(|| vec!["topic".into(), "body".into()]);
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

fn frame_roles(s: &Section<'_>, frames: &[String]) -> (Option<usize>, usize) {
    let mut topic = None;
    let mut body = None;
    for (i, role) in frames.iter().enumerate() {
        let slot = match role.as_str() {
            "topic" => &mut topic,
            "body" => &mut body,
            "_" => continue,
            other => {
                let why = format!("unknown frame role {other:?}; use \"topic\", \"body\" or \"_\"");
                s.problem(&format!("frames[{i}]"), why);
                continue;
            }
        };
        if slot.replace(i).is_some() {
            s.problem(
                &format!("frames[{i}]"),
                format!("{role:?} appears more than once"),
            );
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

fn export(section: Option<Section<'_>>, problems: &Problems) -> Option<ExportConfig> {
    let Some(section) = section else {
        problems.add(
            "export",
            "an [export] section with at least one sink is required",
        );
        return None;
    };
    let sinks = sinks(&section);
    let dead_letter = section.required_string("dead_letter").map(PathBuf::from);
    if let Some(dl) = &dead_letter {
        let clash = sinks
            .iter()
            .any(|s| matches!(s, SinkConfig::File { path, .. } if path == dl));
        if clash {
            section.problem("dead_letter", "must not be the same file as a sink");
        }
    }
    section.finish();
    Some(ExportConfig {
        sinks,
        dead_letter: dead_letter.unwrap_or_default(),
    })
}

fn sinks(section: &Section<'_>) -> Vec<SinkConfig> {
    let tables = section.tables("sinks");
    if tables.is_empty() {
        section.problem("sinks", "at least one sink is required");
    }
    let mut names = HashSet::new();
    let mut paths = HashSet::new();
    let mut out = Vec::new();
    for s in tables {
        let kind = s.required_string("type");
        let name = s
            .string("name")
            .or_else(|| kind.clone())
            .unwrap_or_default();
        if !name.is_empty() && !names.insert(name.clone()) {
            s.problem(
                "name",
                format!("duplicate sink name {name:?}; give each sink a name"),
            );
        }
        match kind.as_deref() {
            Some("file") => {
                if let Some(path) = s.required_string("path").map(PathBuf::from) {
                    if !paths.insert(path.clone()) {
                        s.problem("path", "two sinks write the same file");
                    }
                    out.push(SinkConfig::File { name, path });
                }
            }
            Some("stdout") => out.push(SinkConfig::Stdout { name }),
            Some(other) => s.problem(
                "type",
                format!("must be \"file\" or \"stdout\", found {other:?}"),
            ),
            None => {}
        }
        s.finish();
    }
    out
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
