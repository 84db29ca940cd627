//! nginx serves the browser app's files and nothing else of its directory:
//! the compose stack's `nginx.conf`, rendered for a native run, on Debian's
//! real nginx, with the app's directory holding what a checkout or an
//! `npm install` leaves beside it (tests, `node_modules`, `package.json`,
//! dotfiles, editor backups).

use std::path::{Path, PathBuf};
use std::process::{Child, Command};
use std::time::{Duration, Instant};

use polling_stack::{compose_dir, free_addr, get_status, render, repo_root};

/// A running nginx, stopped (master and workers) when dropped.
struct Nginx {
    child: Child,
    scratch: PathBuf,
    conf: PathBuf,
}

impl Drop for Nginx {
    fn drop(&mut self) {
        // SIGTERM through nginx's own pid file: the master stops its workers.
        let _ = Command::new("nginx")
            .arg("-p")
            .arg(&self.scratch)
            .arg("-c")
            .arg(&self.conf)
            .args(["-s", "stop"])
            .status();
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if matches!(self.child.try_wait(), Ok(Some(_))) {
                let _ = std::fs::remove_dir_all(&self.scratch);
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).unwrap();
        }
    }
}

/// Every file under `dir`, as URL paths from `/`.
fn files(dir: &Path, prefix: &str) -> Vec<String> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let entry = entry.unwrap();
        let name = entry.file_name().into_string().unwrap();
        let path = format!("{prefix}/{name}");
        if entry.file_type().unwrap().is_dir() {
            found.extend(files(&entry.path(), &path));
        } else {
            found.push(path);
        }
    }
    found
}

#[test]
fn nginx_serves_the_apps_files_and_404s_tests_node_modules_and_the_rest() {
    let scratch = std::env::temp_dir().join(format!("polling-nginx-files-{}", std::process::id()));
    let root = scratch.join("html");
    let app = repo_root().join("frontend");
    copy_dir(&app, &root);
    let app_files = files(&app, "");
    // What lands beside the app in a working copy.
    let strays = [
        "/tests/package.json",
        "/tests/app.test.js",
        "/node_modules/playwright-core/index.js",
        "/js/node_modules/x.js",
        "/js/i18n/node_modules/x.js",
        "/js/tests/app.test.js",
        "/package.json",
        "/package-lock.json",
        "/.env",
        "/.git/config",
        "/index.html~",
        "/js/main.js.orig",
        "/README.md",
    ];
    for stray in strays {
        let path = root.join(&stray[1..]);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, "not the app").unwrap();
    }
    let nginx_scratch = scratch.join("nginx");
    std::fs::create_dir_all(&nginx_scratch).unwrap();
    let listen = free_addr().unwrap();
    let local = render::NginxLocal {
        // No replica answers: only nginx's own files are asked for.
        replicas: vec![free_addr().unwrap()],
        listen,
        root: root.clone(),
        scratch: nginx_scratch.clone(),
    };
    let config = std::fs::read_to_string(compose_dir().join("nginx/nginx.conf")).unwrap();
    let rendered = render::nginx(&config, &local).unwrap();
    let conf = nginx_scratch.join("nginx.conf");
    std::fs::write(&conf, rendered).unwrap();
    let child = Command::new("nginx")
        .arg("-p")
        .arg(&nginx_scratch)
        .arg("-c")
        .arg(&conf)
        .args(["-g", "daemon off;"])
        .stderr(std::fs::File::create(scratch.join("nginx.err")).unwrap())
        .spawn()
        .expect("nginx from Debian's package (scripts/deps)");
    let _nginx = Nginx {
        child,
        scratch: scratch.clone(),
        conf,
    };
    let deadline = Instant::now() + Duration::from_secs(10);
    while get_status(listen, "/").is_err() {
        assert!(Instant::now() < deadline, "nginx did not start");
        std::thread::sleep(Duration::from_millis(50));
    }

    assert_eq!(get_status(listen, "/").unwrap(), 200);
    assert!(app_files.len() >= 5, "{app_files:?}");
    for file in &app_files {
        assert_eq!(get_status(listen, file).unwrap(), 200, "the app's {file}");
    }
    for stray in strays {
        assert_eq!(
            get_status(listen, stray).unwrap(),
            404,
            "{stray} is not the app's"
        );
    }
    for sneaky in [
        "/js/../tests/package.json",
        "/js/%2e%2e/package.json",
        "/tests/",
    ] {
        assert_eq!(get_status(listen, sneaky).unwrap(), 404, "{sneaky}");
    }
}
