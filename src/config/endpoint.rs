//! The shape of ZeroMQ endpoints, checked before libzmq sees them.

use std::net::Ipv6Addr;

/// Checks the shape of a ZeroMQ endpoint; libzmq has the last word when it binds or connects.
///
/// # Errors
///
/// Why the endpoint is malformed, naming it.
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
        "tcp" if address.contains('/') => Err(format!(
            "{endpoint:?} has a path; a tcp endpoint is host:port, such as tcp://127.0.0.1:5556"
        )),
        "tcp" | "ws" => check_host_and_port(endpoint, address),
        "ipc" | "inproc" | "pgm" | "epgm" | "udp" | "vmci" => Ok(()),
        other => Err(format!("unknown transport {other:?} in {endpoint:?}")),
    }
}

fn check_host_and_port(endpoint: &str, address: &str) -> Result<(), String> {
    let Some((host, port)) = host_and_port(address) else {
        return Err(format!(
            "{endpoint:?} needs a port, such as tcp://127.0.0.1:5556"
        ));
    };
    check_port(endpoint, port)?;
    check_host(endpoint, host)
}

/// A port is `*` (any free one, for bind) or a number from 0 to 65535.
fn check_port(endpoint: &str, port: &str) -> Result<(), String> {
    if port == "*" || port.parse::<u16>().is_ok() {
        return Ok(());
    }
    if !port.is_empty() && port.bytes().all(|b| b.is_ascii_digit() || b == b'-') {
        return Err(format!("{endpoint:?} has port {port}, outside 0 to 65535"));
    }
    Err(format!(
        "{endpoint:?} needs a port, such as tcp://127.0.0.1:5556"
    ))
}

fn check_host(endpoint: &str, host: &str) -> Result<(), String> {
    if host.is_empty() {
        return Err(format!(
            "{endpoint:?} has no host; use an address such as tcp://127.0.0.1:5556, \
             or * to bind every interface"
        ));
    }
    match host.strip_prefix('[') {
        Some(rest) if !is_ipv6_literal(rest) => Err(format!(
            "{endpoint:?} has a malformed IPv6 host; write it in brackets like tcp://[::1]:5556"
        )),
        _ => Ok(()),
    }
}

/// Whether the text after an opening bracket is an IPv6 address, with an optional `%zone`,
/// and the closing bracket.
fn is_ipv6_literal(rest: &str) -> bool {
    let Some(inner) = rest.strip_suffix(']') else {
        return false;
    };
    let address = inner.split_once('%').map_or(inner, |(address, _)| address);
    address.parse::<Ipv6Addr>().is_ok()
}

/// The host and port of an endpoint's address, leaving out a source address before `;` and a
/// path after `/`.
fn host_and_port(address: &str) -> Option<(&str, &str)> {
    let target = address
        .rsplit_once(';')
        .map_or(address, |(_, target)| target);
    let authority = target
        .split_once('/')
        .map_or(target, |(authority, _)| authority);
    authority.rsplit_once(':')
}

/// Whether the endpoint's host is a bracketed IPv6 address, such as `tcp://[::1]:5556`.
pub(super) fn has_ipv6_host(endpoint: &str) -> bool {
    let address = match endpoint.split_once("://") {
        Some(("tcp" | "ws" | "udp", address)) => address,
        _ => return false,
    };
    host_and_port(address).is_some_and(|(host, _)| host.starts_with('['))
}
