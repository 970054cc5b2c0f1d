//! The deployment files stay true: every variable docker-compose passes is
//! documented in .env.example, every documented variable is read by a config
//! struct and listed in the README, build contexts exist, healthchecks probe
//! real routes. And two portal replicas share one PostgreSQL database.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use crate::common::*;
use serde_yaml::Value;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

/// Where configuration structs read the environment.
const CONFIG_SOURCES: &[&str] = &[
    "portal/src/config.rs",
    "bot/src/config.rs",
    // DISCORD_API_URL, DISCORD_CDN_URL, … and the Discord timeouts.
    "shared/discord/src/config.rs",
    // LOG_FORMAT
    "shared/telemetry/src/lib.rs",
];

fn read(path: &str) -> String {
    std::fs::read_to_string(root().join(path)).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// `${NAME}`, `${NAME:-default}`, `${NAME:?message}` in a compose file.
fn interpolated(text: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let mut rest = text;
    while let Some(i) = rest.find("${") {
        rest = &rest[i + 2..];
        let name: String = rest
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
            .collect();
        out.insert(name);
    }
    out
}

fn documented() -> BTreeSet<String> {
    read(".env.example")
        .lines()
        .map(str::trim)
        .filter(|l| !l.starts_with('#') && l.contains('='))
        .map(|l| l.split('=').next().unwrap().to_owned())
        .collect()
}

#[test]
fn compose_env_example_configs_and_readme_agree() {
    let compose_text = read("docker-compose.yml");
    let mut compose: Value = serde_yaml::from_str(&compose_text).unwrap();
    // Resolve the `<<: *guildhall` anchors as Docker Compose does.
    compose.apply_merge().unwrap();
    let services = compose["services"].as_mapping().unwrap();
    let documented = documented();

    // Every variable the compose file passes or interpolates is documented.
    let mut passed = interpolated(&compose_text);
    for (_, service) in services {
        if let Some(env) = service["environment"].as_mapping() {
            passed.extend(env.keys().map(|k| k.as_str().unwrap().to_owned()));
        }
    }
    let compose_only = [
        "POSTGRES_USER",
        "POSTGRES_DB",
        "MYSQL_USER",
        "MYSQL_PASSWORD",
        "MYSQL_ROOT_PASSWORD",
        "MYSQL_DATABASE",
    ];
    for var in &passed {
        assert!(
            documented.contains(var) || compose_only.contains(&var.as_str()),
            "{var} is passed by docker-compose.yml but not in .env.example"
        );
    }

    // Every documented variable is read by a config struct (or is compose's own),
    // and has a row in the README's configuration tables.
    let configs = CONFIG_SOURCES.iter().map(|p| read(p)).collect::<String>();
    let readme = read("README.md");
    for var in &documented {
        let read_by_config = configs.contains(&format!("\"{var}\""));
        let compose_var =
            compose_text.contains(&format!("${{{var}")) || var.starts_with("COMPOSE_");
        assert!(
            read_by_config || compose_var,
            "{var} is documented but nothing reads it"
        );
        assert!(
            readme.contains(&format!("`{var}`")),
            "{var} is missing from the README"
        );
    }

    // Builds point at files that exist; the services wait for a healthy database.
    for name in ["portal", "bot"] {
        let s = &services[&Value::from(name)];
        let build = &s["build"];
        let context = build["context"].as_str().unwrap();
        assert!(
            root()
                .join(context)
                .join(build["dockerfile"].as_str().unwrap())
                .exists()
        );
        assert_eq!(
            s["depends_on"]["db"]["condition"], "service_healthy",
            "{name}"
        );
        assert_eq!(s["restart"], "unless-stopped", "{name}");
        assert!(
            s["healthcheck"]["test"].as_sequence().is_some(),
            "{name} has a healthcheck"
        );
        assert_eq!(s["env_file"], ".env");
    }
    assert!(services[&Value::from("db")]["healthcheck"].is_mapping());
    let volumes = compose["volumes"].as_mapping().unwrap();
    assert!(volumes.contains_key("db-data") && volumes.contains_key("mysql-data"));
    // One database per profile; the services wait for whichever runs.
    assert_eq!(services[&Value::from("db")]["profiles"][0], "postgres");
    assert_eq!(services[&Value::from("mysql")]["profiles"][0], "mysql");
    for name in ["portal", "bot", "migrate"] {
        let deps = &services[&Value::from(name)]["depends_on"];
        for db in ["db", "mysql"] {
            assert_eq!(deps[db]["required"], false, "{name} on {db}");
        }
    }
    assert!(documented.contains("COMPOSE_PROFILES"));
    // The portal is published on the host's loopback only: a TLS proxy on
    // the host is the way in, and /metrics is not on every interface.
    let ports: Vec<&str> = services[&Value::from("portal")]["ports"]
        .as_sequence()
        .unwrap()
        .iter()
        .filter_map(Value::as_str)
        .collect();
    assert_eq!(ports, ["127.0.0.1:8000:8000"]);

    // …and the other way: every variable a config struct reads is in
    // .env.example (commented out where it is for tests only).
    let example = read(".env.example");
    let mut names = BTreeSet::new();
    for quoted in configs.split('"').skip(1).step_by(2) {
        let looks_like_a_variable = quoted.len() > 4
            && quoted.contains('_')
            && quoted
                .chars()
                .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_');
        if looks_like_a_variable {
            names.insert(quoted.to_owned());
        }
    }
    assert!(names.contains("DATABASE_URL") && names.contains("BOT_HEALTH_FILE"));
    for var in names {
        assert!(
            example.contains(&format!("{var}=")),
            "{var} is read but not in .env.example"
        );
    }
    assert!(root().join(".dockerignore").exists());
}

#[tokio::test]
async fn compose_healthcheck_paths_are_real_routes() {
    let mut compose: Value = serde_yaml::from_str(&read("docker-compose.yml")).unwrap();
    compose.apply_merge().unwrap();
    let test: Vec<&str> = compose["services"]["portal"]["healthcheck"]["test"]
        .as_sequence()
        .unwrap()
        .iter()
        .filter_map(Value::as_str)
        .collect();
    let url = test
        .iter()
        .find(|a| a.starts_with("http://127.0.0.1:8000/"))
        .expect("the portal's healthcheck asks the portal");
    let path = url.trim_start_matches("http://127.0.0.1:8000");
    assert_eq!(path, "/readyz", "healthy means the database answers too");
    let app = spawn_app(base_fixture()).await;
    assert_eq!(app.get(path).await.status(), 200);
    app.stop().await;
}

#[tokio::test]
async fn two_replicas_share_one_postgres_database() {
    let Some(db) = store::testing::TestDatabase::create(store::Backend::Postgres)
        .await
        .unwrap()
    else {
        return;
    };
    let standin = discord_standin::StandIn::start(base_fixture())
        .await
        .unwrap();
    // Behind a proxy both replicas have the same public URL and secrets.
    let la = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let lb = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let public = format!("http://{}", la.local_addr().unwrap());
    let cfg = || {
        config_for(&standin, &db.url, |e| {
            e.set("PORTAL_PUBLIC_URL", public.clone())
        })
    };
    let a = portal::start(cfg(), la).await.unwrap();
    let b = portal::start(cfg(), lb).await.unwrap();
    let browser = client();

    // Login started on A…
    let login = browser
        .get(format!("{}/discord/login", a.url()))
        .send()
        .await
        .unwrap();
    let verifier = cookie_value(&login, "guildhalloauthpkce").unwrap();
    let approved = browser.get(location(&login)).send().await.unwrap();
    let callback = location(&approved);
    let on_b = callback.replace(&a.url(), &b.url());
    assert_ne!(on_b, callback);
    // …finished on B…
    let done = browser.get(&on_b).send().await.unwrap();
    assert_eq!(done.status(), 302, "{:?}", done.text().await);
    // …and the guild page served by A with B's cookie.
    let page = browser
        .get(format!("{}/discord/guilds", a.url()))
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 200);

    // A replay of the same callback, cookies and all, is refused by A:
    // the state was consumed in the shared database.
    let state = url::form_urlencoded::parse(callback.split_once('?').unwrap().1.as_bytes())
        .find(|(k, _)| k == "state")
        .unwrap()
        .1
        .into_owned();
    let claims: serde_json::Value = {
        use base64::Engine;
        let part = state.split('.').nth(1).unwrap();
        serde_json::from_slice(
            &base64::engine::general_purpose::URL_SAFE_NO_PAD
                .decode(part)
                .unwrap(),
        )
        .unwrap()
    };
    let replay = reqwest::Client::new()
        .get(callback.replace("/discord/callback", "/api/v1/auth/discord/cookie/callback"))
        .header(
            "cookie",
            format!(
                "fastapiusersoauthcsrf={}; guildhalloauthpkce={verifier}",
                claims["csrftoken"].as_str().unwrap()
            ),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(replay.status(), 400);
    let body: serde_json::Value = replay.json().await.unwrap();
    assert_eq!(body["detail"], "OAUTH_INVALID_STATE");
    assert_eq!(
        standin
            .requests()
            .iter()
            .filter(|r| r.path.ends_with("/oauth2/token"))
            .count(),
        1,
        "the replay never reached Discord"
    );

    a.shutdown().await;
    b.shutdown().await;
    db.drop_database().await;
}
