//! Every file of `compose/`, proven with the real programs where this
//! machine has them (docker-compose, nginx, promtool) and structurally
//! where it does not (Grafana, Loki, Alloy). The operator's rules the
//! compose file keeps are in `rules.rs`.

use std::collections::{BTreeMap, BTreeSet};
use std::process::Command;

mod common;

use common::{dashboards, server_bin};
use polling_stack::{alloy, compose_dir, render, repo_root};
use serde_json::Value;

fn read(path: &str) -> String {
    std::fs::read_to_string(compose_dir().join(path)).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn yaml(path: &str) -> serde_yaml::Value {
    serde_yaml::from_str(&read(path)).unwrap_or_else(|e| panic!("{path} is not YAML: {e}"))
}

fn run(command: &mut Command) -> String {
    let output = command
        .output()
        .unwrap_or_else(|e| panic!("{command:?}: {e}"));
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(output.status.success(), "{command:?} failed:\n{text}");
    text
}

/// The required secrets, as an operator's `.env` sets them (the file has no
/// fallback for them, so compose refuses to read it without).
const SECRETS: [(&str, &str); 3] = [
    ("POSTGRES_PASSWORD", "superuser secret"),
    ("POLLING_DB_PASSWORD", "p@ss:/#%?w rd"),
    ("GRAFANA_ADMIN_PASSWORD", "grafana secret"),
];

/// `docker-compose` (Debian's 1.29) on the compose files `files`, run from
/// `compose/` with the secrets set. Compose 1.29 predates the top-level
/// `name:`, so it reads the main file without that line (a copy in a
/// scratch directory, `compose/` as the project directory).
fn docker_compose(files: &[&str], args: &[&str]) -> String {
    let scratch = std::env::temp_dir().join(format!(
        "polling-compose-{}-{}",
        std::process::id(),
        files.len()
    ));
    std::fs::create_dir_all(&scratch).unwrap();
    let mut command = Command::new("docker-compose");
    command
        .current_dir(compose_dir())
        .arg("--project-directory")
        .arg(compose_dir());
    for file in files {
        let text = read(file);
        let without_name: String = text
            .lines()
            .filter(|line| !line.starts_with("name:"))
            .map(|line| format!("{line}\n"))
            .collect();
        let copy = scratch.join(file);
        std::fs::write(&copy, without_name).unwrap();
        command.arg("-f").arg(&copy);
    }
    for (name, value) in SECRETS {
        command.env(name, value);
    }
    let out = run(command.args(args));
    let _ = std::fs::remove_dir_all(&scratch);
    out
}

#[test]
fn docker_compose_1_29_accepts_the_compose_file() {
    docker_compose(&["docker-compose.yml"], &["config", "-q"]);
}

#[test]
fn the_compose_spec_crate_accepts_it_and_every_reference_resolves() {
    // As `docker compose` reads it: variables from .env.example.
    let mut vars: BTreeMap<String, String> = read(".env.example")
        .lines()
        .filter(|l| !l.starts_with('#'))
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
    for (name, value) in SECRETS {
        vars.insert(name.to_owned(), value.to_owned());
    }
    let text = polling_stack::interpolate(&read("docker-compose.yml"), &vars).unwrap();
    let compose = compose_spec::Compose::options()
        .from_yaml_str(&text)
        .expect("the compose file parses under the Compose specification");
    compose
        .validate_all()
        .expect("every network and volume used is defined");
    let names: BTreeSet<String> = compose.services.keys().map(|k| k.to_string()).collect();
    for service in [
        "db",
        "db-init",
        "redis",
        "backend",
        "nginx",
        "prometheus",
        "grafana",
        "loki",
        "alloy",
        "cadvisor",
    ] {
        assert!(names.contains(service), "service {service}");
    }
}

#[test]
fn the_backend_runs_three_replicas_after_healthy_dependencies() {
    let compose = yaml("docker-compose.yml");
    let backend = &compose["services"]["backend"];
    assert_eq!(backend["deploy"]["replicas"], 3);
    for dependency in ["db", "redis"] {
        assert_eq!(
            backend["depends_on"][dependency]["condition"],
            "service_healthy"
        );
    }
    assert!(backend["healthcheck"]["test"].is_sequence());
    assert_eq!(backend["environment"]["POLLING_LOG_FORMAT"], "json");
    let volume = compose["services"]["db"]["volumes"][0].as_str().unwrap();
    assert!(
        volume.starts_with("db-data:"),
        "PostgreSQL keeps its data on a named volume"
    );
    assert!(compose["volumes"]["db-data"].is_null() || compose["volumes"]["db-data"].is_mapping());
    assert_eq!(compose["networks"]["polling"]["driver"], "bridge");
    assert_eq!(
        backend["depends_on"]["db-init"]["condition"], "service_completed_successfully",
        "the replicas start once their role and its password are set"
    );
}

/// The Redis Cluster variant, merged over the main file as `docker compose
/// -f docker-compose.yml -f docker-compose.redis-cluster.yml` merges it: six
/// cluster nodes announcing their service names, an init that waits for
/// all of them, and replicas in cluster mode seeded with nodes of the file.
#[test]
fn the_redis_cluster_variant_merges_into_a_six_node_cluster_the_replicas_use() {
    let merged = docker_compose(
        &["docker-compose.yml", "docker-compose.redis-cluster.yml"],
        &["config"],
    );
    let compose: serde_yaml::Value = serde_yaml::from_str(&merged).expect("merged YAML");
    let services = &compose["services"];
    let nodes = [
        "redis", "redis-2", "redis-3", "redis-4", "redis-5", "redis-6",
    ];
    for node in nodes {
        let command = services[node]["command"][2].as_str().unwrap_or_default();
        assert!(
            command.contains("--cluster-enabled yes")
                && command.contains("--cluster-announce-hostname"),
            "{node} is a cluster node announcing its name: {command}"
        );
        assert_eq!(services[node]["environment"]["NODE"], node);
        assert_eq!(
            services["redis-cluster-init"]["depends_on"][node]["condition"],
            "service_healthy"
        );
    }
    let init = services["redis-cluster-init"]["command"][2]
        .as_str()
        .unwrap();
    assert!(init.contains("--cluster-replicas 1"), "{init}");
    let backend = &services["backend"];
    assert_eq!(
        backend["depends_on"]["redis-cluster-init"]["condition"],
        "service_completed_successfully"
    );
    assert_eq!(
        backend["environment"]["REDIS_URL"], "",
        "no single-node URL"
    );
    let seeds = backend["environment"]["POLLING_REDIS_CLUSTER_NODES"]
        .as_str()
        .expect("cluster seed nodes");
    for seed in seeds.split(',') {
        let host = seed
            .strip_prefix("redis://")
            .and_then(|rest| rest.split(':').next())
            .unwrap_or_else(|| panic!("a redis:// URL: {seed}"));
        assert!(nodes.contains(&host), "seed {seed} is a node of the file");
    }
    assert_eq!(backend["deploy"]["replicas"], 3);
}

/// The PgBouncer variant, merged over the main file: the replicas' queries
/// go through `pgbouncer` in transaction mode, their migrations straight to
/// `db`, and the statement timeout moves from their connections to
/// PgBouncer's, as docs/pgbouncer.md says (whose settings the real
/// PgBouncer of the store's and server's `pgbouncer` tests runs).
#[test]
fn the_pgbouncer_variant_sends_queries_through_it_and_sessions_straight_to_the_database() {
    let merged = docker_compose(
        &["docker-compose.yml", "docker-compose.pgbouncer.yml"],
        &["config"],
    );
    let compose: serde_yaml::Value = serde_yaml::from_str(&merged).expect("merged YAML");
    let services = &compose["services"];
    let pgbouncer = &services["pgbouncer"];
    let ini = read("pgbouncer/pgbouncer.ini");
    let setting = |key: &str| {
        ini.lines()
            .filter_map(|line| line.split_once('='))
            .find(|(k, _)| k.trim() == key)
            .map(|(_, v)| v.trim().to_owned())
            .unwrap_or_else(|| panic!("{key} in pgbouncer.ini"))
    };
    assert_eq!(setting("pool_mode"), "transaction");
    assert!(setting("max_prepared_statements").parse::<u32>().unwrap() > 0);
    assert!(setting("ignore_startup_parameters").contains("extra_float_digits"));
    assert!(setting("*").starts_with("host=db port=5432"), "{ini}");
    assert!(setting("*").contains("SET statement_timeout"), "{ini}");
    let port = setting("listen_port");
    assert_eq!(pgbouncer["expose"][0].as_str(), Some(port.as_str()));
    let entrypoint = read("pgbouncer/entrypoint.sh");
    assert!(entrypoint.contains(&setting("auth_file")), "{entrypoint}");
    assert_eq!(
        pgbouncer["environment"]["PGBOUNCER_PASSWORD"], "p@ss:/#%?w rd",
        "the app role's password, from .env"
    );
    assert_eq!(
        pgbouncer["depends_on"]["db-init"]["condition"],
        "service_completed_successfully"
    );
    let backend = &services["backend"];
    let env = &backend["environment"];
    let url = env["DATABASE_URL"].as_str().unwrap();
    assert_eq!(
        url,
        format!("postgres://polling_app@pgbouncer:{port}/polling")
    );
    assert_eq!(
        env["DATABASE_SESSION_URL"].as_str(),
        Some("postgres://polling_app@db:5432/polling"),
        "the migrations' session, straight to db"
    );
    assert_eq!(
        env["POLLING_DATABASE_STATEMENT_TIMEOUT"].as_str(),
        Some("0")
    );
    assert_eq!(
        backend["depends_on"]["pgbouncer"]["condition"],
        "service_healthy"
    );
    assert_eq!(backend["deploy"]["replicas"], 3);
    let dockerfile = read("pgbouncer/Dockerfile");
    assert!(
        dockerfile.contains("FROM debian:trixie-slim"),
        "PgBouncer 1.21+: {dockerfile}"
    );
}

#[test]
fn the_seed_profile_runs_the_load_tool_against_nginx_only_on_request() {
    let compose = yaml("docker-compose.yml");
    let services = compose["services"].as_mapping().unwrap();
    for (name, service) in services {
        let profiles = service["profiles"].as_sequence();
        if name.as_str() == Some("seed") {
            assert_eq!(profiles.map(Vec::len), Some(1));
            assert_eq!(profiles.unwrap()[0], "seed");
        } else {
            assert!(profiles.is_none(), "{name:?} would be left out of `up`");
        }
    }
    let seed = &compose["services"]["seed"];
    let target = seed["build"]["target"].as_str().unwrap();
    let dockerfile = read("Dockerfile");
    assert!(
        dockerfile
            .lines()
            .any(|line| line.starts_with("FROM ") && line.ends_with(&format!(" AS {target}"))),
        "the Dockerfile has no stage {target:?}"
    );
    assert!(dockerfile.contains("ENTRYPOINT [\"polling-load\", \"seed\"]"));
    // The last stage is what a plain build makes: the server, not the seed.
    let last = dockerfile
        .lines()
        .rfind(|l| l.starts_with("FROM "))
        .unwrap();
    assert!(last.ends_with(" AS runtime"), "{last}");
    let nginx = read("nginx/nginx.conf");
    let port = nginx
        .lines()
        .find_map(|l| l.trim().strip_prefix("listen ")?.strip_suffix(';'))
        .unwrap();
    assert_eq!(
        seed["environment"]["POLLING_SEED_TARGET"].as_str(),
        Some(format!("http://nginx:{port}").as_str())
    );
    assert!(seed["depends_on"]["nginx"].is_mapping());
}

#[test]
fn every_file_the_compose_file_mounts_or_builds_from_exists() {
    let compose = yaml("docker-compose.yml");
    let dir = compose_dir();
    let mut checked = 0;
    for (name, service) in compose["services"].as_mapping().unwrap() {
        for volume in service["volumes"].as_sequence().into_iter().flatten() {
            let source = volume.as_str().unwrap().split(':').next().unwrap();
            if source.starts_with('.') {
                let path = dir.join(source);
                assert!(
                    path.exists(),
                    "{name:?} mounts {source}, which does not exist"
                );
                checked += 1;
            }
        }
        if service["build"].is_mapping() {
            let context = dir.join(service["build"]["context"].as_str().unwrap());
            let dockerfile = context.join(service["build"]["dockerfile"].as_str().unwrap());
            assert!(
                dockerfile.is_file(),
                "{name:?} builds from {}",
                dockerfile.display()
            );
            checked += 1;
        }
    }
    assert!(checked >= 8, "only {checked} mounts and builds checked");
    assert!(dir.join(".env.example").is_file());
    assert!(dir.join("README.md").is_file());
}

#[test]
fn nginx_accepts_its_config_rendered_for_a_native_run() {
    let scratch = std::env::temp_dir().join(format!("polling-nginx-t-{}", std::process::id()));
    std::fs::create_dir_all(&scratch).unwrap();
    let local = render::NginxLocal {
        replicas: vec![
            "127.0.0.1:18081".parse().unwrap(),
            "127.0.0.1:18082".parse().unwrap(),
        ],
        listen: "127.0.0.1:18080".parse().unwrap(),
        root: repo_root().join("frontend"),
        scratch: scratch.clone(),
    };
    let rendered = render::nginx(&read("nginx/nginx.conf"), &local).unwrap();
    let conf = scratch.join("nginx.conf");
    std::fs::write(&conf, rendered).unwrap();
    let out = run(Command::new("nginx")
        .arg("-t")
        .arg("-p")
        .arg(&scratch)
        .arg("-c")
        .arg(&conf));
    assert!(out.contains("test is successful"), "{out}");
    let _ = std::fs::remove_dir_all(&scratch);
}

#[test]
fn promtool_accepts_the_prometheus_config_as_is_and_rendered() {
    run(Command::new("promtool")
        .args(["check", "config"])
        .arg(compose_dir().join("prometheus/prometheus.yml")));
    let rendered = render::prometheus(
        &read("prometheus/prometheus.yml"),
        &["127.0.0.1:18081".parse().unwrap()],
    )
    .unwrap();
    let path = std::env::temp_dir().join(format!("polling-prometheus-{}.yml", std::process::id()));
    std::fs::write(&path, rendered).unwrap();
    run(Command::new("promtool")
        .args(["check", "config"])
        .arg(&path));
    let _ = std::fs::remove_file(&path);
}

/// The data source uids the provisioning file defines.
fn provisioned_datasources() -> BTreeMap<String, String> {
    let provisioning = yaml("grafana/provisioning/datasources/datasources.yml");
    provisioning["datasources"]
        .as_sequence()
        .unwrap()
        .iter()
        .map(|d| {
            (
                d["uid"].as_str().unwrap().to_owned(),
                d["type"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

#[test]
fn dashboards_have_unique_panel_ids_and_only_provisioned_data_sources() {
    let sources = provisioned_datasources();
    assert_eq!(
        sources.get("prometheus").map(String::as_str),
        Some("prometheus")
    );
    assert_eq!(sources.get("loki").map(String::as_str), Some("loki"));
    let provider = yaml("grafana/provisioning/dashboards/dashboards.yml");
    assert_eq!(
        provider["providers"][0]["options"]["path"], "/var/lib/grafana/dashboards",
        "the provider reads where compose mounts the dashboards"
    );
    for (path, dashboard) in dashboards() {
        let panels = dashboard["panels"].as_array().unwrap();
        let ids: BTreeSet<u64> = panels.iter().map(|p| p["id"].as_u64().unwrap()).collect();
        assert_eq!(ids.len(), panels.len(), "{path}: panel ids are unique");
        for panel in panels {
            let uses = std::iter::once(&panel["datasource"]).chain(
                panel["targets"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .map(|t| &t["datasource"]),
            );
            for source in uses {
                let uid = source["uid"]
                    .as_str()
                    .unwrap_or_else(|| panic!("{path}: {panel}"));
                assert_eq!(
                    sources.get(uid).map(String::as_str),
                    source["type"].as_str(),
                    "{path}: panel {} uses data source {uid}",
                    panel["title"]
                );
            }
        }
    }
}

#[test]
fn loki_and_alloy_configs_have_what_the_stack_relies_on() {
    let loki = yaml("loki/loki.yml");
    assert_eq!(loki["server"]["http_listen_port"], 3100);
    assert_eq!(loki["auth_enabled"], false);
    assert!(loki["schema_config"]["configs"]
        .as_sequence()
        .is_some_and(|c| !c.is_empty()));
    let config = alloy::without_comments(&read("alloy/config.alloy"));
    let write = alloy::block(&config, "loki.write").expect("a loki.write");
    assert!(
        write.contains(r#"url = "http://loki:3100/loki/api/v1/push""#),
        "{write}"
    );
    let relabel = alloy::block(&config, "discovery.relabel").expect("a discovery.relabel");
    for label in ["service", "container"] {
        assert!(
            relabel.contains(&format!(r#"target_label  = "{label}""#)),
            "every line carries its compose {label}: {relabel}"
        );
    }
    assert!(relabel.contains("__meta_docker_container_label_com_docker_compose_service"));
    let source = alloy::block(&config, "loki.source.docker").expect("a loki.source.docker");
    assert!(
        source.contains("relabel_rules = discovery.relabel."),
        "{source}"
    );
    // Alloy keeps its read positions where the compose file puts a volume.
    let compose = yaml("docker-compose.yml");
    let alloy_service = &compose["services"]["alloy"];
    let command: Vec<&str> = alloy_service["command"]
        .as_sequence()
        .unwrap()
        .iter()
        .filter_map(|a| a.as_str())
        .collect();
    let storage = command
        .iter()
        .find_map(|a| a.strip_prefix("--storage.path="))
        .expect("--storage.path");
    assert!(
        alloy_service["volumes"]
            .as_sequence()
            .unwrap()
            .iter()
            .filter_map(|v| v.as_str())
            .any(|v| v.starts_with("alloy-data:") && v.ends_with(storage)),
        "positions survive a recreate: {storage} is on a volume"
    );
    assert!(
        command.last().is_some_and(|c| c.ends_with("config.alloy")),
        "{command:?}"
    );
    let grafana_loki_query = dashboards()
        .into_iter()
        .flat_map(|(_, d)| d["panels"].as_array().cloned().unwrap_or_default())
        .filter(|p| p["datasource"]["uid"] == "loki")
        .map(|p| {
            p["targets"][0]["expr"]
                .as_str()
                .unwrap_or_default()
                .to_owned()
        })
        .next()
        .expect("a logs panel");
    assert!(grafana_loki_query.contains(r#"service="backend""#));
}

#[test]
fn the_alloy_pipeline_extracts_its_fields_from_the_servers_real_log_lines() {
    let expressions = alloy::backend_json_expressions(&read("alloy/config.alloy")).unwrap();
    assert!(expressions.len() >= 5, "{expressions:?}");
    let lines = real_log_lines();
    let request = lines
        .iter()
        .find(|l| l["message"] == "request")
        .expect("a request log line");
    let fields = alloy::extract(&expressions, request);
    for field in expressions.keys() {
        assert!(
            fields.contains_key(field),
            "the pipeline's `{field}` ({}) is not in the server's request line: {request}",
            expressions[field]
        );
    }
    assert_eq!(fields["route"], "/healthz");
    assert_eq!(fields["level"], "INFO");
    assert!(fields["request_id"]
        .as_str()
        .is_some_and(|id| !id.is_empty()));
}

/// JSON log lines of the real server answering one request.
fn real_log_lines() -> Vec<Value> {
    use std::io::{BufRead, BufReader, Read as _, Write as _};
    let bin = server_bin();
    let addr = polling_stack::free_addr().unwrap();
    let mut child = Command::new(&bin)
        .env_clear()
        .env("POLLING_LISTEN", addr.to_string())
        .env("POLLING_LOG_FORMAT", "json")
        // Polls in memory, not in a polling.db of the working directory.
        .env("DATABASE_URL", "memory")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("{}: {e}", bin.display()));
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while polling_stack::get_status(addr, "/healthz").is_err() {
        assert!(
            std::time::Instant::now() < deadline,
            "the server did not start"
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    let mut stream = std::net::TcpStream::connect(addr).unwrap();
    write!(
        stream,
        "GET /healthz HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n"
    )
    .unwrap();
    stream.read_to_string(&mut String::new()).unwrap();
    let mut lines = Vec::new();
    for line in BufReader::new(child.stdout.take().unwrap()).lines() {
        let line: Value = serde_json::from_str(&line.unwrap()).expect("JSON log lines");
        let done = line["message"] == "request" && line["route"] == "/healthz";
        lines.push(line);
        if done {
            break;
        }
    }
    let _ = child.kill();
    let _ = child.wait();
    lines
}
