//! The operator's rules `compose/` keeps, each a check of the files as they
//! are, and each check shown to catch the mistake it is about on a copy of
//! the file with that mistake made: log rotation on every service, no port
//! open on every interface but nginx's, secrets without fallbacks, pinned
//! images, the network's subnet trusted exactly, stop timeouts above the
//! shutdown grace, file limits sized for the socket cap, dashboard queries
//! that show each replica and container once.

use std::collections::BTreeMap;
use std::time::Duration;

mod common;

use polling_stack::{compose_dir, interpolate};
use serde_json::Value;
use serde_yaml::Value as Yaml;

fn read(path: &str) -> String {
    std::fs::read_to_string(compose_dir().join(path)).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// The variables of `.env.example`, with the secrets it leaves empty set.
fn example_vars() -> BTreeMap<String, String> {
    let mut vars: BTreeMap<String, String> = read(".env.example")
        .lines()
        .filter(|l| !l.starts_with('#'))
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
    for name in [
        "POSTGRES_PASSWORD",
        "POLLING_DB_PASSWORD",
        "GRAFANA_ADMIN_PASSWORD",
    ] {
        vars.insert(name.to_owned(), "secret".to_owned());
    }
    vars
}

/// `path` interpolated with `vars` and parsed, as `docker compose` reads it.
fn compose_with(path: &str, vars: &BTreeMap<String, String>) -> Yaml {
    let text = interpolate(&read(path), vars).unwrap_or_else(|e| panic!("{path}: {e}"));
    let mut compose: Yaml = serde_yaml::from_str(&text).unwrap_or_else(|e| panic!("{path}: {e}"));
    // `<<: *anchor` merges, as compose applies them.
    compose.apply_merge().unwrap();
    compose
}

fn compose() -> Yaml {
    compose_with("docker-compose.yml", &example_vars())
}

fn services(compose: &Yaml) -> Vec<(String, &Yaml)> {
    compose["services"]
        .as_mapping()
        .expect("services")
        .iter()
        .map(|(name, service)| (name.as_str().unwrap().to_owned(), service))
        .collect()
}

/// A copy of `compose` with `edit` applied to service `name`.
fn edited(compose: &Yaml, name: &str, edit: impl FnOnce(&mut serde_yaml::Mapping)) -> Yaml {
    let mut copy = compose.clone();
    let service = copy["services"][name].as_mapping_mut().unwrap();
    edit(service);
    copy
}

fn key(name: &str) -> Yaml {
    Yaml::String(name.to_owned())
}

// ---- log rotation -------------------------------------------------------

/// The services whose logs are not rotated by size (json-file or local
/// driver with `max-size` and `max-file`).
fn services_without_log_rotation(compose: &Yaml) -> Vec<String> {
    services(compose)
        .into_iter()
        .filter(|(_, service)| {
            let logging = &service["logging"];
            let driver_rotates = matches!(logging["driver"].as_str(), Some("json-file" | "local"));
            let options = &logging["options"];
            !(driver_rotates && options["max-size"].is_string() && options["max-file"].is_string())
        })
        .map(|(name, _)| name)
        .collect()
}

#[test]
fn every_service_rotates_its_logs() {
    let compose = compose();
    assert_eq!(
        services_without_log_rotation(&compose),
        Vec::<String>::new()
    );
    // The overrides' own services too.
    for (path, at_least) in [
        ("docker-compose.redis-cluster.yml", 6),
        ("docker-compose.pgbouncer.yml", 1),
    ] {
        let overlay = compose_with(path, &example_vars());
        let new_services: Vec<String> = services(&overlay)
            .into_iter()
            .filter(|(name, _)| compose["services"].get(name.as_str()).is_none())
            .map(|(name, _)| name)
            .collect();
        assert!(new_services.len() >= at_least, "{path}: {new_services:?}");
        let unrotated = services_without_log_rotation(&overlay);
        for name in &new_services {
            assert!(
                !unrotated.contains(name),
                "{path}: {name} lacks log rotation"
            );
        }
    }
    // The check catches a service without it.
    let broken = edited(&compose, "redis", |s| {
        s.remove("logging");
    });
    assert_eq!(services_without_log_rotation(&broken), ["redis"]);
}

// ---- published ports ----------------------------------------------------

/// The published ports (service, port spec) that bind every interface: a
/// short spec without a host address, `0.0.0.0`, `::`, or a long spec
/// without `host_ip`.
fn ports_on_every_interface(compose: &Yaml) -> Vec<(String, String)> {
    let mut open = Vec::new();
    for (name, service) in services(compose) {
        for port in service["ports"].as_sequence().into_iter().flatten() {
            let all = match port {
                Yaml::Mapping(long) => long
                    .get("host_ip")
                    .and_then(Yaml::as_str)
                    .is_none_or(|ip| ip == "0.0.0.0" || ip == "::"),
                other => {
                    let spec = match other {
                        Yaml::Number(n) => n.to_string(),
                        _ => other.as_str().unwrap_or_default().to_owned(),
                    };
                    let parts: Vec<&str> = if spec.starts_with('[') {
                        vec![spec.split(']').next().unwrap_or_default(), "", ""]
                    } else {
                        spec.split(':').collect()
                    };
                    parts.len() < 3 || matches!(parts[0], "0.0.0.0" | "[::" | "::" | "")
                }
            };
            if all {
                open.push((name.clone(), format!("{port:?}")));
            }
        }
    }
    open
}

#[test]
fn only_nginx_publishes_a_port_on_every_interface() {
    let compose = compose();
    let open = ports_on_every_interface(&compose);
    assert_eq!(
        open.iter().map(|(s, _)| s.as_str()).collect::<Vec<_>>(),
        ["nginx"],
        "{open:?}"
    );
    for service in ["prometheus", "grafana"] {
        let port = compose["services"][service]["ports"][0].as_str().unwrap();
        assert!(port.starts_with("127.0.0.1:"), "{service}: {port}");
    }
    // nginx too can be kept to one address, and the check catches a port
    // opened to everyone.
    let mut vars = example_vars();
    vars.insert("HTTP_ADDRESS".into(), "127.0.0.1".into());
    assert!(ports_on_every_interface(&compose_with("docker-compose.yml", &vars)).is_empty());
    for spec in ["9090:9090", "0.0.0.0:9090:9090", "9090"] {
        let broken = edited(&compose, "prometheus", |s| {
            s.insert(key("ports"), Yaml::Sequence(vec![key(spec)]));
        });
        assert!(
            ports_on_every_interface(&broken)
                .iter()
                .any(|(s, _)| s == "prometheus"),
            "{spec}"
        );
    }
    let long = serde_yaml::from_str::<Yaml>("[{target: 3000, published: 3000}]").unwrap();
    let broken = edited(&compose, "grafana", |s| {
        s.insert(key("ports"), long);
    });
    assert!(ports_on_every_interface(&broken)
        .iter()
        .any(|(s, _)| s == "grafana"));
}

// ---- secrets --------------------------------------------------------------

/// `${NAME...}` references to secrets (names with PASSWORD, SECRET, TOKEN
/// or KEY) in `text` that are not required (`${NAME:?message}`): a fallback
/// value (`:-`, `-`) or a plain `${NAME}` that an empty .env leaves empty.
fn unrequired_secrets(text: &str) -> Vec<String> {
    let mut found = Vec::new();
    let mut rest = text;
    while let Some(at) = rest.find("${") {
        let body = &rest[at + 2..];
        let end = body.find('}').unwrap_or(body.len());
        let expression = &body[..end];
        let name: String = expression
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
            .collect();
        let secret = ["PASSWORD", "SECRET", "TOKEN", "KEY"]
            .iter()
            .any(|word| name.contains(word));
        if secret && !expression[name.len()..].starts_with(":?") {
            found.push(expression.to_owned());
        }
        rest = &body[end..];
    }
    found
}

#[test]
fn every_secret_is_required_and_none_has_a_fallback() {
    for path in [
        "docker-compose.yml",
        "docker-compose.redis-cluster.yml",
        "docker-compose.pgbouncer.yml",
    ] {
        assert_eq!(
            unrequired_secrets(&read(path)),
            Vec::<String>::new(),
            "{path}"
        );
    }
    let text = read("docker-compose.yml");
    for secret in [
        "POSTGRES_PASSWORD",
        "POLLING_DB_PASSWORD",
        "GRAFANA_ADMIN_PASSWORD",
    ] {
        assert!(text.contains(&format!("${{{secret}:?")), "{secret} is used");
        // compose refuses to start while .env leaves it out or empty.
        let mut vars = example_vars();
        vars.remove(secret);
        let error = interpolate(&text, &vars).unwrap_err();
        assert!(error.contains(secret), "{error}");
        vars.insert(secret.to_owned(), String::new());
        assert!(interpolate(&text, &vars).is_err());
    }
    // .env.example ships no password to copy.
    for line in read(".env.example").lines() {
        if let Some((name, value)) = line.split_once('=') {
            if name.contains("PASSWORD") {
                assert_eq!(value, "", "{name} must be set by the operator");
            }
        }
    }
    assert_eq!(
        unrequired_secrets(
            "a: ${POSTGRES_PASSWORD:-polling} ${API_TOKEN} ${X_KEY-k} ${HTTP_PORT:-1}"
        ),
        ["POSTGRES_PASSWORD:-polling", "API_TOKEN", "X_KEY-k"]
    );
}

#[test]
fn the_database_url_carries_no_password_and_the_app_has_a_role_of_its_own() {
    let compose = compose();
    let backend = &compose["services"]["backend"]["environment"];
    let url = backend["DATABASE_URL"].as_str().unwrap();
    let authority = url
        .strip_prefix("postgres://")
        .and_then(|rest| rest.split('@').next())
        .unwrap();
    assert!(!authority.contains(':'), "no password in {url}");
    assert_eq!(authority, "polling_app", "not the superuser");
    assert_eq!(backend["PGPASSWORD"], "secret");
    let db_init = &compose["services"]["db-init"];
    let command: Vec<&str> = db_init["command"]
        .as_sequence()
        .unwrap()
        .iter()
        .filter_map(Yaml::as_str)
        .collect();
    assert!(command.contains(&"app_role=polling_app"), "{command:?}");
    assert!(
        !command.iter().any(|a| a.contains("secret")),
        "the password is not on a command line"
    );
    assert_eq!(db_init["environment"]["POLLING_DB_PASSWORD"], "secret");
    assert_eq!(db_init["restart"], "no");
}

// ---- pins ----------------------------------------------------------------

/// Whether `image` names a release: a tag with a major.minor version at
/// least, not `latest` nor a floating major (`7-alpine`, `1-bookworm`).
fn pinned(image: &str) -> bool {
    let Some((_, tag)) = image.rsplit_once(':') else {
        return false;
    };
    let version = tag.trim_start_matches('v');
    let mut numbers = version.split(['.', '-']);
    let major = numbers.next().unwrap_or_default();
    let minor = numbers.next().unwrap_or_default();
    !major.is_empty()
        && major.chars().all(|c| c.is_ascii_digit())
        && !minor.is_empty()
        && minor.chars().all(|c| c.is_ascii_digit())
}

#[test]
fn every_image_is_pinned_with_what_it_was_checked_against() {
    let main = compose();
    let cluster = compose_with("docker-compose.redis-cluster.yml", &example_vars());
    let pgbouncer = compose_with("docker-compose.pgbouncer.yml", &example_vars());
    let mut images = Vec::new();
    for compose in [&main, &cluster, &pgbouncer] {
        for (name, service) in services(compose) {
            if let Some(image) = service["image"].as_str() {
                if service["build"].is_mapping() {
                    assert!(image.ends_with(":local"), "{name} builds {image}");
                    continue;
                }
                assert!(pinned(image), "{name}: {image} is not pinned to a release");
                images.push(image.to_owned());
            }
        }
    }
    assert!(images.len() >= 9, "{images:?}");
    // Each pin of the main file says, in the comment above it, what it was
    // checked against.
    let text = read("docker-compose.yml");
    let lines: Vec<&str> = text.lines().collect();
    for image in images.iter().filter(|i| text.contains(i.as_str())) {
        let commented = lines.iter().enumerate().any(|(i, line)| {
            line.trim() == format!("image: {image}")
                && lines[i.saturating_sub(8)..i]
                    .iter()
                    .any(|l| l.trim_start().starts_with('#') && l.contains("checked against"))
        });
        assert!(
            commented,
            "{image}: no `checked against` comment above its pin"
        );
    }
    // The cAdvisor releases that work on current Docker are on ghcr.io.
    let cadvisor = main["services"]["cadvisor"]["image"].as_str().unwrap();
    assert!(
        cadvisor.starts_with("ghcr.io/google/cadvisor:"),
        "{cadvisor}"
    );
    // The Dockerfile's toolchain is an exact release, its bases named ones.
    for line in read("Dockerfile")
        .lines()
        .filter(|l| l.starts_with("FROM "))
    {
        let image = line.split_whitespace().nth(1).unwrap();
        if let Some(tag) = image.strip_prefix("rust:") {
            let version = tag.split('-').next().unwrap();
            assert_eq!(version.split('.').count(), 3, "{line}: an exact toolchain");
        } else if image.contains(':') {
            assert!(!image.ends_with(":latest"), "{line}");
        }
    }
    for (image, ok) in [
        ("redis:7-alpine", false),
        ("nginx:1.27-alpine", true),
        ("grafana/grafana:latest", false),
        ("prom/prometheus:v3.14.0", true),
        ("postgres", false),
    ] {
        assert_eq!(pinned(image), ok, "{image}");
    }
}

// ---- network and trusted proxies -------------------------------------------

#[test]
fn the_replicas_trust_exactly_the_pinned_subnet_of_their_network() {
    for subnet in [None, Some("10.77.0.0/24")] {
        let mut vars = example_vars();
        match subnet {
            Some(subnet) => vars.insert("POLLING_SUBNET".into(), subnet.into()),
            None => vars.remove("POLLING_SUBNET"),
        };
        let compose = compose_with("docker-compose.yml", &vars);
        let pinned = compose["networks"]["polling"]["ipam"]["config"][0]["subnet"]
            .as_str()
            .expect("a pinned subnet");
        let trusted = compose["services"]["backend"]["environment"]["POLLING_TRUSTED_PROXIES"]
            .as_str()
            .unwrap();
        assert_eq!(trusted, pinned);
        if let Some(subnet) = subnet {
            assert_eq!(pinned, subnet, "both follow POLLING_SUBNET");
        }
        // Every service is on that network and no other.
        for (name, service) in services(&compose) {
            assert_eq!(
                service["networks"],
                Yaml::Sequence(vec![key("polling")]),
                "{name}"
            );
        }
    }
    assert_eq!(
        read(".env.example")
            .lines()
            .find_map(|l| l.strip_prefix("POLLING_SUBNET=")),
        compose()["networks"]["polling"]["ipam"]["config"][0]["subnet"].as_str()
    );
}

#[test]
fn the_project_is_named_and_everything_selects_it_by_that_name() {
    let compose = compose();
    let name = compose["name"].as_str().expect("a top-level name");
    assert_eq!(name, "polling");
    let alloy = read("alloy/config.alloy");
    assert!(
        alloy.contains(&format!(
            r#"values = ["com.docker.compose.project={name}"]"#
        )),
        "Alloy reads this project's containers only"
    );
    let prometheus = read("prometheus/prometheus.yml");
    assert!(prometheus.contains("source_labels: [container_label_com_docker_compose_project]"));
    assert!(prometheus.contains(&format!("regex: {name}\n        action: keep")));
    let readme = read("README.md");
    assert!(readme.contains(&format!("{name}_db-data")));
    assert!(
        !readme.contains("compose_db-data:/data"),
        "the old project name"
    );
}

// ---- stopping -------------------------------------------------------------

fn duration(text: &str) -> Duration {
    let (number, unit) = text.split_at(text.find(|c: char| !c.is_ascii_digit()).unwrap());
    let n: u64 = number.parse().unwrap();
    match unit {
        "ms" => Duration::from_millis(n),
        "s" => Duration::from_secs(n),
        "m" => Duration::from_secs(60 * n),
        other => panic!("unit {other} in {text}"),
    }
}

/// The value of `directive` in nginx.conf (`worker_connections 65536;`).
fn nginx_directive(directive: &str) -> String {
    read("nginx/nginx.conf")
        .lines()
        .find_map(|l| {
            l.trim()
                .strip_prefix(&format!("{directive} "))?
                .strip_suffix(';')
                .map(str::to_owned)
        })
        .unwrap_or_else(|| panic!("no {directive} in nginx.conf"))
}

#[test]
fn docker_waits_longer_than_each_program_takes_to_stop() {
    let compose = compose();
    let backend = &compose["services"]["backend"];
    let grace = duration(
        backend["environment"]["POLLING_SHUTDOWN_GRACE"]
            .as_str()
            .unwrap(),
    );
    let stop = duration(backend["stop_grace_period"].as_str().unwrap());
    assert!(stop > grace, "{stop:?} <= {grace:?}");
    let nginx_stop = duration(
        compose["services"]["nginx"]["stop_grace_period"]
            .as_str()
            .unwrap(),
    );
    let nginx_grace = duration(&nginx_directive("worker_shutdown_timeout"));
    assert!(
        nginx_stop > nginx_grace,
        "{nginx_stop:?} <= {nginx_grace:?}"
    );
    // Docker's default of 10 s would equal the server's default grace.
    assert!(stop > Duration::from_secs(10));
}

// ---- file limits and resources ------------------------------------------------

fn nofile(service: &Yaml) -> (u64, u64) {
    let limit = &service["ulimits"]["nofile"];
    (
        limit["soft"].as_u64().expect("a soft nofile"),
        limit["hard"].as_u64().expect("a hard nofile"),
    )
}

#[test]
fn file_limits_fit_every_live_socket_the_replicas_accept() {
    let compose = compose();
    let backend = &compose["services"]["backend"];
    let env = &backend["environment"];
    // An interpolated number reads as a YAML number.
    let number = |value: &Yaml| -> u64 {
        value
            .as_u64()
            .or_else(|| value.as_str()?.parse().ok())
            .unwrap_or_else(|| panic!("not a number: {value:?}"))
    };
    let max_sockets = number(&env["POLLING_MAX_SOCKETS"]);
    let pool = number(&env["POLLING_DATABASE_POOL_SIZE"]);
    let replicas = backend["deploy"]["replicas"].as_u64().unwrap();
    let (soft, hard) = nofile(backend);
    // A socket each, the requests in flight (--max-concurrent-requests,
    // 1024), the pool and a margin for Redis, listeners and files.
    assert!(
        soft >= max_sockets + 1024 + pool + 256,
        "backend nofile {soft}"
    );
    assert!(hard >= soft);
    let worker_connections: u64 = nginx_directive("worker_connections").parse().unwrap();
    let rlimit: u64 = nginx_directive("worker_rlimit_nofile").parse().unwrap();
    // Two connections per live socket, every replica's, in one worker.
    assert!(
        worker_connections >= 2 * replicas * max_sockets,
        "worker_connections {worker_connections}"
    );
    assert!(rlimit > worker_connections, "worker_rlimit_nofile {rlimit}");
    let (nginx_soft, nginx_hard) = nofile(&compose["services"]["nginx"]);
    assert!(nginx_hard >= rlimit && nginx_soft >= rlimit);
}

#[test]
fn every_service_has_resource_limits_and_redis_a_memory_policy_within_them() {
    let compose = compose();
    for (name, service) in services(&compose) {
        let limits = &service["deploy"]["resources"]["limits"];
        assert!(limits["memory"].is_string(), "{name}: no memory limit");
        assert!(limits["cpus"].is_string(), "{name}: no CPU limit");
    }
    let redis = &compose["services"]["redis"];
    let command: Vec<&str> = redis["command"]
        .as_sequence()
        .unwrap()
        .iter()
        .filter_map(Yaml::as_str)
        .collect();
    let after = |flag: &str| {
        command
            .iter()
            .position(|a| *a == flag)
            .map(|i| command[i + 1])
            .unwrap_or_else(|| panic!("redis without {flag}"))
    };
    assert_eq!(after("--maxmemory-policy"), "allkeys-lru");
    let megabytes = |text: &str| -> u64 {
        let text = text.to_ascii_lowercase();
        let digits: String = text.chars().take_while(char::is_ascii_digit).collect();
        let n: u64 = digits.parse().unwrap();
        match &text[digits.len()..] {
            "mb" | "m" => n,
            "gb" | "g" => n * 1024,
            other => panic!("unit {other}"),
        }
    };
    let maxmemory = megabytes(after("--maxmemory"));
    let limit = megabytes(
        redis["deploy"]["resources"]["limits"]["memory"]
            .as_str()
            .unwrap(),
    );
    assert!(maxmemory < limit, "{maxmemory} MB of keys in {limit} MB");
    assert!(
        read("README.md").contains("allkeys-lru"),
        "the policy is documented"
    );
}

#[test]
fn healthchecks_run_programs_and_postgres_is_asked_over_tcp() {
    let compose = compose();
    for (name, service) in services(&compose) {
        if let Some(test) = service["healthcheck"]["test"].as_sequence() {
            assert_eq!(test[0], "CMD", "{name}: exec form, no shell");
        }
    }
    let test: Vec<&str> = compose["services"]["db"]["healthcheck"]["test"]
        .as_sequence()
        .unwrap()
        .iter()
        .filter_map(Yaml::as_str)
        .collect();
    assert_eq!(test[1], "pg_isready");
    let host = test.iter().position(|a| *a == "-h").expect("pg_isready -h");
    assert_eq!(test[host + 1], "127.0.0.1", "TCP, not initdb's socket");
    for service in ["db", "redis", "backend", "nginx", "prometheus", "grafana"] {
        assert!(
            compose["services"][service]["healthcheck"].is_mapping(),
            "{service} has a healthcheck"
        );
    }
}

// ---- build context, seed, Grafana -----------------------------------------------

#[test]
fn the_build_context_leaves_out_backups_targets_and_node_modules_everywhere() {
    let ignore = std::fs::read_to_string(polling_stack::repo_root().join(".dockerignore")).unwrap();
    let patterns: Vec<&str> = ignore
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .collect();
    for pattern in [
        "**/target/",
        "**/node_modules/",
        "**/backups/",
        "**/.env",
        "**/*.dump",
    ] {
        assert!(patterns.contains(&pattern), "{pattern} in .dockerignore");
    }
    // The README's backups land where .dockerignore leaves them out.
    let readme = read("README.md");
    for line in readme
        .lines()
        .filter(|l| l.contains("pg_dump") && l.contains(" > ") || l.contains("tar czf"))
    {
        assert!(
            line.contains("backups/") || line.contains("/backups\""),
            "{line}"
        );
    }
}

#[test]
fn the_seed_runs_with_its_exit_code_from_the_servers_builder() {
    let readme = read("README.md");
    assert!(readme.contains("docker compose --profile seed run --rm seed"));
    assert!(
        !readme.contains("up seed\n"),
        "`up` hides the seed's exit code"
    );
    let dockerfile = read("Dockerfile");
    let copies: Vec<&str> = dockerfile
        .lines()
        .filter(|l| l.starts_with("COPY --from=") && l.contains("/target/release/"))
        .collect();
    assert_eq!(copies.len(), 2, "{copies:?}");
    assert!(
        copies.iter().all(|l| l.starts_with("COPY --from=builder ")),
        "the server and the seed come from one compilation: {copies:?}"
    );
    assert_eq!(
        dockerfile
            .lines()
            .filter(|l| l.starts_with("RUN cargo build"))
            .count(),
        1
    );
}

#[test]
fn no_grafana_folder_is_named_like_a_dashboard() {
    let provider: Yaml =
        serde_yaml::from_str(&read("grafana/provisioning/dashboards/dashboards.yml")).unwrap();
    let folders: Vec<&str> = provider["providers"]
        .as_sequence()
        .unwrap()
        .iter()
        .filter_map(|p| p["folder"].as_str())
        .collect();
    assert!(!folders.is_empty());
    for (path, dashboard) in common::dashboards() {
        let title = dashboard["title"].as_str().unwrap();
        assert!(
            !folders.contains(&title),
            "{path}: {title} is also a folder"
        );
    }
}

// ---- dashboards ------------------------------------------------------------

/// What is wrong with one PromQL `expr` of a dashboard whose legend is
/// `legend`: a replica labelled by its address (`instance`), Prometheus's
/// renamed `exported_instance`, cAdvisor series of other projects, or an
/// `or` whose sides can both have data (the same thing shown twice).
fn query_problems(expr: &str, legend: &str) -> Vec<String> {
    let mut problems = Vec::new();
    if legend.contains("{{instance}}")
        || expr.contains("by (instance)") && !expr.contains("on (instance)")
    {
        problems.push("labelled by address, not by replica name".to_owned());
    }
    if expr.contains("exported_instance") {
        problems.push("exported_instance: a label collision".to_owned());
    }
    if expr.contains("container_")
        && !expr.contains(r#"container_label_com_docker_compose_project="polling""#)
    {
        problems.push("cAdvisor series of every container on the host".to_owned());
    }
    if expr.contains(" or ") && !expr.contains("or vector(0)") && !expr.contains("unless on ()") {
        problems.push("`A or B` keeps both sides".to_owned());
    }
    if expr.contains("process_")
        && expr.contains("job=\"polling\"")
        && !expr.contains("group_left (replica)")
    {
        problems.push("a replica's process series without its name".to_owned());
    }
    problems
}

#[test]
fn dashboards_show_each_replica_once_by_name_and_each_container_of_the_project_once() {
    let mut checked = 0;
    for (path, dashboard) in common::dashboards() {
        for panel in dashboard["panels"].as_array().unwrap() {
            for target in panel["targets"].as_array().into_iter().flatten() {
                if target["datasource"]["type"] != "prometheus" {
                    continue;
                }
                let expr = target["expr"].as_str().unwrap();
                let legend = target["legendFormat"].as_str().unwrap_or_default();
                let problems = query_problems(expr, legend);
                assert!(
                    problems.is_empty(),
                    "{path}: {}: {expr}: {problems:?}",
                    panel["title"]
                );
                checked += 1;
            }
        }
    }
    assert!(checked >= 10, "{checked} queries");
    let per_replica: Vec<Value> = common::dashboards()
        .into_iter()
        .flat_map(|(_, d)| d["panels"].as_array().cloned().unwrap_or_default())
        .filter(|p| p["title"] == "Requests per replica")
        .collect();
    assert_eq!(per_replica.len(), 1);
    assert_eq!(per_replica[0]["targets"][0]["legendFormat"], "{{replica}}");
    // The old queries are what the check is about.
    for (expr, legend) in [
        (
            r#"sum by (instance) (rate(http_requests_total[1m]))"#,
            "{{instance}}",
        ),
        (
            r#"sum by (name) (rate(container_cpu_usage_seconds_total{name=~".+"}[1m])) or sum by (instance) (rate(process_cpu_seconds_total{job="polling"}[1m]))"#,
            "{{name}}{{instance}}",
        ),
        (r#"polling_build_info{exported_instance="a"}"#, ""),
    ] {
        assert!(!query_problems(expr, legend).is_empty(), "{expr}");
    }
}

#[test]
fn the_replicas_name_reaches_prometheus_as_replica_not_exported_instance() {
    let prometheus: Yaml = serde_yaml::from_str(&read("prometheus/prometheus.yml")).unwrap();
    let polling = prometheus["scrape_configs"]
        .as_sequence()
        .unwrap()
        .iter()
        .find(|job| job["job_name"] == "polling")
        .unwrap();
    let rules = polling["metric_relabel_configs"].as_sequence().unwrap();
    assert!(rules.iter().any(|r| {
        r["source_labels"] == Yaml::Sequence(vec![key("exported_instance")])
            && r["target_label"] == "replica"
    }));
    assert!(rules
        .iter()
        .any(|r| r["action"] == "labeldrop" && r["regex"] == "exported_instance"));
}
