//! The gateway conversation spoken directly, without serenity: what the bot's
//! end-to-end tests rely on, pinned down frame by frame.

use std::time::Duration;

use futures::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

use super::{BotFixture, BotStandIn};

type Socket = WebSocketStream<MaybeTlsStream<TcpStream>>;

const WAIT: Duration = Duration::from_secs(10);

async fn connect(standin: &BotStandIn) -> Socket {
    let url = standin.base_url().replace("http://", "ws://") + "/ws?v=10";
    let (socket, _) = tokio_tungstenite::connect_async(url).await.unwrap();
    socket
}

async fn next(socket: &mut Socket) -> Value {
    loop {
        let message = tokio::time::timeout(WAIT, socket.next())
            .await
            .expect("a frame before the deadline")
            .expect("the socket is open")
            .unwrap();
        if let Message::Text(text) = message {
            return serde_json::from_str(&text).unwrap();
        }
    }
}

async fn send(socket: &mut Socket, payload: Value) {
    socket
        .send(Message::Text(payload.to_string().into()))
        .await
        .unwrap();
}

fn identify(shard: [u32; 2]) -> Value {
    json!({"op": 2, "d": {
        "token": "Bot x", "intents": 1, "shard": shard, "compress": true,
        "properties": {"os": "linux", "browser": "test", "device": "test"},
    }})
}

#[tokio::test]
async fn identify_ready_heartbeat_and_numbered_dispatches() {
    let mut fixture = BotFixture::default();
    fixture.ready_guilds.insert(1, vec![11, 12]);
    let standin = BotStandIn::start(fixture).await.unwrap();
    let mut socket = connect(&standin).await;
    assert_eq!(next(&mut socket).await["op"], 10, "HELLO first");

    send(&mut socket, identify([1, 2])).await;
    let ready = next(&mut socket).await;
    assert_eq!(
        (ready["t"].as_str(), ready["s"].as_u64()),
        (Some("READY"), Some(1))
    );
    assert_eq!(ready["d"]["shard"], json!([1, 2]));
    assert_eq!(
        ready["d"]["guilds"],
        json!([{"id": "11", "unavailable": true}, {"id": "12", "unavailable": true}])
    );
    assert_eq!(standin.ready_shards(), [1]);

    send(&mut socket, json!({"op": 1, "d": 1})).await;
    assert_eq!(next(&mut socket).await["op"], 11, "heartbeat ACK");

    assert!(standin.guild_delete(1, 11, true));
    let delete = next(&mut socket).await;
    assert_eq!(delete["s"], 2);
    assert_eq!(delete["d"], json!({"id": "11", "unavailable": true}));
    assert!(!standin.guild_create(0, 13), "shard 0 never connected");

    let identified: Vec<Value> = standin
        .frames()
        .into_iter()
        .filter(|f| f.payload["op"] == 2)
        .map(|f| f.payload["d"]["shard"].clone())
        .collect();
    assert_eq!(identified, [json!([1, 2])]);
}

#[tokio::test]
async fn resume_of_a_known_session_continues_and_others_are_refused() {
    let standin = BotStandIn::start(BotFixture::default()).await.unwrap();
    let mut first = connect(&standin).await;
    next(&mut first).await;
    send(&mut first, identify([0, 1])).await;
    let session = next(&mut first).await["d"]["session_id"]
        .as_str()
        .unwrap()
        .to_owned();
    drop(first);

    let mut stranger = connect(&standin).await;
    next(&mut stranger).await;
    send(
        &mut stranger,
        json!({"op": 6, "d": {"token": "Bot x", "session_id": "made-up", "seq": 1}}),
    )
    .await;
    assert_eq!(next(&mut stranger).await, json!({"op": 9, "d": false}));

    let mut resumed = connect(&standin).await;
    next(&mut resumed).await;
    send(
        &mut resumed,
        json!({"op": 6, "d": {"token": "Bot x", "session_id": session, "seq": 1}}),
    )
    .await;
    let answer = next(&mut resumed).await;
    assert_eq!(
        (answer["t"].as_str(), answer["s"].as_u64()),
        (Some("RESUMED"), Some(2))
    );
    assert_eq!(standin.resumed_shards(), [0]);
    // Dispatches now go to the resumed connection.
    assert!(standin.wait_until(WAIT, |s| s.guild_create(0, 7)).await);
    let create = next(&mut resumed).await;
    assert_eq!(
        (create["t"].as_str(), create["s"].as_u64()),
        (Some("GUILD_CREATE"), Some(3))
    );
}

#[tokio::test]
async fn an_interaction_is_answered_once_like_discord_says() {
    let standin = BotStandIn::start(BotFixture::default()).await.unwrap();
    standin
        .shared
        .lock()
        .interactions
        .insert((7, "tok".into()), (std::time::Instant::now(), false));
    let http = reqwest::Client::new();
    let answer = |id: u64, token: &str| {
        let url = format!(
            "{}/api/v10/interactions/{id}/{token}/callback",
            standin.base_url()
        );
        let http = http.clone();
        async move {
            let r = http
                .post(url)
                .json(&json!({"type": 5, "data": {"flags": 64}}))
                .send()
                .await
                .unwrap();
            let status = r.status().as_u16();
            let code = r.json::<Value>().await.ok().map(|b| b["code"].clone());
            (status, code)
        }
    };
    assert_eq!(answer(8, "tok").await, (404, Some(json!(10062))), "unknown");
    assert_eq!(
        answer(7, "other").await,
        (404, Some(json!(10062))),
        "wrong token"
    );
    assert_eq!(answer(7, "tok").await, (204, None));
    assert_eq!(
        answer(7, "tok").await,
        (400, Some(json!(40060))),
        "answered twice"
    );
    standin.shutdown().await;
}
