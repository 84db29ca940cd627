//! The compose stack's configs with local addresses: only the text between a
//! `# BEGIN <name>` and an `# END <name>` line changes.

use std::fmt::Write;
use std::net::SocketAddr;
use std::path::PathBuf;

/// What can go wrong rendering a config.
#[derive(Debug, PartialEq, Eq)]
pub struct RenderError(pub String);

impl std::fmt::Display for RenderError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for RenderError {}

/// Where a native nginx runs: its replicas, port, app and scratch directory.
#[derive(Clone, Debug)]
pub struct NginxLocal {
    /// The backend replicas' addresses.
    pub replicas: Vec<SocketAddr>,
    /// Where nginx listens.
    pub listen: SocketAddr,
    /// The browser app's directory (the repository's `frontend/`).
    pub root: PathBuf,
    /// A directory of this nginx's own, for its pid and temporary files.
    pub scratch: PathBuf,
}

/// `compose/nginx/nginx.conf` for a native run: the `upstream backend`
/// block lists `local.replicas` (no Docker DNS resolver) and keeps its
/// `keepalive*` settings as they are; the port, the app's directory and the
/// scratch paths are local. Nothing else changes.
pub fn nginx(config: &str, local: &NginxLocal) -> Result<String, RenderError> {
    let mut upstream = String::from("    upstream backend {\n        zone backend 64k;\n");
    for replica in &local.replicas {
        let _ = writeln!(upstream, "        server {replica};");
    }
    for setting in between(config, "upstream backend")?
        .iter()
        .filter(|line| line.trim_start().starts_with("keepalive"))
    {
        let _ = writeln!(upstream, "        {}", setting.trim());
    }
    upstream.push_str("    }\n");
    let scratch = local.scratch.display();
    let config = replace_between(config, "upstream backend", &upstream)?;
    let config = replace_between(&config, "paths", &format!("pid {scratch}/nginx.pid;\n"))?;
    let temp: String = ["client_body", "proxy", "fastcgi", "uwsgi", "scgi"]
        .iter()
        .map(|kind| format!("    {kind}_temp_path {scratch}/{kind};\n"))
        .collect();
    let config = replace_between(&config, "temp paths", &temp)?;
    let server = format!(
        "        listen {};\n        root {};\n",
        local.listen,
        local.root.display()
    );
    replace_between(&config, "listen", &server)
}

/// `compose/prometheus/prometheus.yml` with the `polling` job scraping
/// `replicas` directly instead of discovering them through Docker's DNS
/// (the job's other settings, its metric relabelling, stay as they are).
pub fn prometheus(config: &str, replicas: &[SocketAddr]) -> Result<String, RenderError> {
    let targets: Vec<String> = replicas.iter().map(|r| format!("'{r}'")).collect();
    let block = format!(
        "    static_configs:\n      - targets: [{}]\n",
        targets.join(", ")
    );
    replace_between(config, "backend targets", &block)
}

/// `text` with the lines strictly between `# BEGIN name` and `# END name`
/// replaced by `replacement` (the marker lines stay, so rendering twice
/// gives the same result).
pub fn replace_between(text: &str, name: &str, replacement: &str) -> Result<String, RenderError> {
    let lines: Vec<&str> = text.lines().collect();
    let (first, last) = markers(&lines, name)?;
    let mut out = String::with_capacity(text.len() + replacement.len());
    for line in &lines[..=first] {
        out.push_str(line);
        out.push('\n');
    }
    out.push_str(replacement);
    if !replacement.ends_with('\n') {
        out.push('\n');
    }
    for line in &lines[last..] {
        out.push_str(line);
        out.push('\n');
    }
    Ok(out)
}

/// The lines strictly between `# BEGIN name` and `# END name`.
fn between<'a>(text: &'a str, name: &str) -> Result<Vec<&'a str>, RenderError> {
    let lines: Vec<&str> = text.lines().collect();
    let (first, last) = markers(&lines, name)?;
    Ok(lines[first + 1..last].to_vec())
}

/// The indices of the `# BEGIN name` and `# END name` lines.
fn markers(lines: &[&str], name: &str) -> Result<(usize, usize), RenderError> {
    let begin = format!("# BEGIN {name}");
    let end = format!("# END {name}");
    let find = |marker: &str| {
        let found: Vec<usize> = lines
            .iter()
            .enumerate()
            .filter(|(_, l)| l.trim() == marker)
            .map(|(i, _)| i)
            .collect();
        match found.as_slice() {
            [one] => Ok(*one),
            [] => Err(RenderError(format!("no `{marker}` line"))),
            _ => Err(RenderError(format!("`{marker}` appears more than once"))),
        }
    };
    let (first, last) = (find(&begin)?, find(&end)?);
    if last < first {
        return Err(RenderError(format!("`{end}` comes before `{begin}`")));
    }
    Ok((first, last))
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEXT: &str = "a\n  # BEGIN part\nold 1\nold 2\n  # END part\nz\n";

    #[test]
    fn only_the_marked_lines_change_and_rendering_twice_is_stable() {
        let once = replace_between(TEXT, "part", "new\n").unwrap();
        assert_eq!(once, "a\n  # BEGIN part\nnew\n  # END part\nz\n");
        assert_eq!(replace_between(&once, "part", "new\n").unwrap(), once);
    }

    #[test]
    fn missing_doubled_or_reversed_markers_are_errors() {
        assert!(replace_between("a\n", "part", "x").is_err());
        assert!(replace_between("# BEGIN p\n# BEGIN p\n# END p\n", "p", "x").is_err());
        assert!(replace_between("# END p\n# BEGIN p\n", "p", "x").is_err());
    }

    #[test]
    fn the_compose_configs_render_with_local_addresses() {
        let replicas: Vec<SocketAddr> = vec![
            "127.0.0.1:9001".parse().unwrap(),
            "127.0.0.1:9002".parse().unwrap(),
        ];
        let nginx_conf =
            std::fs::read_to_string(crate::compose_dir().join("nginx/nginx.conf")).unwrap();
        let local = NginxLocal {
            replicas: replicas.clone(),
            listen: "127.0.0.1:9100".parse().unwrap(),
            root: "/srv/app".into(),
            scratch: "/tmp/n1".into(),
        };
        let rendered = nginx(&nginx_conf, &local).unwrap();
        assert!(rendered.contains("listen 127.0.0.1:9100;"));
        assert!(rendered.contains("root /srv/app;"));
        assert!(rendered.contains("pid /tmp/n1/nginx.pid;"));
        assert!(rendered.contains("proxy_temp_path /tmp/n1/proxy;"));
        assert!(rendered.contains("server 127.0.0.1:9001;"));
        assert!(rendered.contains("server 127.0.0.1:9002;"));
        assert!(!rendered.contains("resolve;"), "no Docker DNS natively");
        assert!(rendered.contains("keepalive 64;"));
        assert!(
            rendered.contains("keepalive_timeout 5s;"),
            "the upstream's idle timeout is the compose stack's"
        );
        let prom = std::fs::read_to_string(crate::compose_dir().join("prometheus/prometheus.yml"))
            .unwrap();
        let rendered = prometheus(&prom, &replicas).unwrap();
        assert!(rendered.contains("targets: ['127.0.0.1:9001', '127.0.0.1:9002']"));
        assert!(!rendered.contains("dns_sd_configs"));
        assert!(
            rendered.contains("action: labeldrop"),
            "the polling job keeps its metric relabelling"
        );
        assert!(
            rendered.contains("job_name: cadvisor"),
            "the rest is unchanged"
        );
    }
}
