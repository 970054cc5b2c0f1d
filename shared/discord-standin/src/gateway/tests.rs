//! The gateway conversation spoken directly, without serenity: what the bot's
//! end-to-end tests rely on, pinned down frame by frame.

use std::time::Duration;

use futures::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

use super::{
    BotChannel, BotFixture, BotGuild, BotStandIn, GATEWAY_GUILD_MEMBERS_LIMITED,
    INTENT_GUILD_MEMBERS, MessageFailure, SlashCommand,
};

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

fn identify_with(intents: u64) -> Value {
    json!({"op": 2, "d": {
        "token": "Bot x", "intents": intents, "shard": [0, 1], "compress": true,
        "properties": {"os": "linux", "browser": "test", "device": "test"},
    }})
}

/// The next frame, close frames included (as `{"close": code}`).
async fn next_or_close(socket: &mut Socket) -> Value {
    loop {
        let message = tokio::time::timeout(WAIT, socket.next())
            .await
            .expect("a frame before the deadline")
            .expect("the socket is open")
            .unwrap();
        match message {
            Message::Text(text) => return serde_json::from_str(&text).unwrap(),
            Message::Close(Some(frame)) => {
                return json!({"close": u16::from(frame.code), "reason": frame.reason.as_str()});
            }
            _ => {}
        }
    }
}

#[tokio::test]
async fn guild_members_needs_the_application_flag_or_the_gateway_closes_with_4014() {
    let standin = BotStandIn::start(BotFixture::default()).await.unwrap();
    let mut socket = connect(&standin).await;
    next(&mut socket).await;
    send(&mut socket, identify_with(1 | INTENT_GUILD_MEMBERS)).await;
    assert_eq!(
        next_or_close(&mut socket).await,
        json!({"close": 4014, "reason": "Disallowed intent(s)."})
    );
    assert_eq!(standin.disallowed_identifies(), [0]);
    assert!(standin.ready_shards().is_empty());

    // With the (limited) flag, the same IDENTIFY gets READY and member events.
    standin.update_fixture(|f| f.application_flags = GATEWAY_GUILD_MEMBERS_LIMITED);
    let mut socket = connect(&standin).await;
    next(&mut socket).await;
    send(&mut socket, identify_with(1 | INTENT_GUILD_MEMBERS)).await;
    let ready = next(&mut socket).await;
    assert_eq!(ready["t"], "READY");
    assert_eq!(
        ready["d"]["application"]["flags"],
        GATEWAY_GUILD_MEMBERS_LIMITED
    );
    assert!(standin.member_add(0, 5, 6, "newcomer"));
    let add = next(&mut socket).await;
    assert_eq!(add["t"], "GUILD_MEMBER_ADD");
    assert_eq!(
        (&add["d"]["guild_id"], &add["d"]["user"]["id"]),
        (&json!("5"), &json!("6"))
    );
    assert!(standin.member_remove(0, 5, 6));
    assert_eq!(next(&mut socket).await["t"], "GUILD_MEMBER_REMOVE");

    // Without the intent, Discord sends no member events.
    let mut plain = connect(&standin).await;
    next(&mut plain).await;
    send(&mut plain, identify_with(1)).await;
    assert_eq!(next(&mut plain).await["t"], "READY");
    assert_eq!(standin.identified_intents(0), Some(1));
    assert!(!standin.member_add(0, 5, 7, "unseen"));
}

#[tokio::test]
async fn channel_events_and_refused_messages() {
    let standin = BotStandIn::start(BotFixture::default()).await.unwrap();
    let mut socket = connect(&standin).await;
    next(&mut socket).await;
    send(&mut socket, identify_with(1)).await;
    next(&mut socket).await;
    let welcome = BotChannel::text(90, "welcome", 3);
    let spec = BotGuild {
        id: 9,
        name: "Nine".into(),
        member_count: 41,
        channels: vec![welcome.clone()],
    };
    assert!(standin.guild_create_with(0, &spec));
    let create = next(&mut socket).await;
    assert_eq!(
        (
            &create["d"]["name"],
            &create["d"]["member_count"],
            &create["d"]["channels"][0]["name"]
        ),
        (&json!("Nine"), &json!(41), &json!("welcome"))
    );
    for (sent, event) in [
        (standin.channel_create(0, 9, &welcome), "CHANNEL_CREATE"),
        (standin.channel_update(0, 9, &welcome), "CHANNEL_UPDATE"),
        (standin.channel_delete(0, 9, &welcome), "CHANNEL_DELETE"),
    ] {
        assert!(sent);
        let frame = next(&mut socket).await;
        assert_eq!(frame["t"], event);
        assert_eq!(
            (&frame["d"]["id"], &frame["d"]["guild_id"]),
            (&json!("90"), &json!("9"))
        );
    }

    let http = reqwest::Client::new();
    let post = |channel: u64| {
        let url = format!("{}/api/v10/channels/{channel}/messages", standin.base_url());
        let http = http.clone();
        async move {
            let r = http
                .post(url)
                .json(&json!({"content": "hi @everyone", "allowed_mentions": {"parse": []}}))
                .send()
                .await
                .unwrap();
            (r.status().as_u16(), r.json::<Value>().await.unwrap())
        }
    };
    let (status, message) = post(90).await;
    assert_eq!((status, &message["content"]), (200, &json!("hi @everyone")));
    standin.set_channel_failure(90, Some(MessageFailure::MissingPermissions));
    standin.set_channel_failure(91, Some(MessageFailure::UnknownChannel));
    assert_eq!(
        post(90).await,
        (
            403,
            json!({"message": "Missing Permissions", "code": 50013})
        )
    );
    assert_eq!(
        post(91).await,
        (404, json!({"message": "Unknown Channel", "code": 10003}))
    );
    standin.set_channel_failure(90, None);
    assert_eq!(post(90).await.0, 200);
    let sent = standin.messages_to(90);
    assert_eq!(
        sent.iter().map(|(s, _)| *s).collect::<Vec<_>>(),
        [200, 403, 200]
    );
    assert_eq!(sent[0].1["allowed_mentions"], json!({"parse": []}));
}

#[tokio::test]
async fn autocomplete_interactions_mark_the_focused_option() {
    let standin = BotStandIn::start(BotFixture::default()).await.unwrap();
    let mut socket = connect(&standin).await;
    next(&mut socket).await;
    send(&mut socket, identify_with(1)).await;
    next(&mut socket).await;
    let call = SlashCommand {
        name: "tag".into(),
        user_id: 5,
        guild_id: Some(9),
        channel_id: 90,
        options: vec![("name".into(), "ru".into())],
        locale: Some("ko".into()),
        guild_locale: None,
    };
    standin.autocomplete(0, &call, "name").unwrap();
    let frame = next(&mut socket).await;
    assert_eq!(frame["d"]["type"], 4);
    assert_eq!(
        frame["d"]["data"]["options"],
        json!([{"name": "name", "type": 3, "value": "ru", "focused": true}])
    );
    assert_eq!(frame["d"]["locale"], "ko");
    assert_eq!(frame["d"]["guild_locale"], "en-US");
    standin.slash_command(0, &call).unwrap();
    let frame = next(&mut socket).await;
    assert_eq!(frame["d"]["type"], 2);
    assert_eq!(
        frame["d"]["data"]["options"],
        json!([{"name": "name", "type": 3, "value": "ru"}])
    );
}

#[tokio::test]
async fn identifies_beyond_discords_limits_get_invalid_session() {
    // Two buckets, two session starts left in a period of an hour.
    let fixture = BotFixture {
        session_start_limit: super::SessionStartLimit {
            total: 1000,
            remaining: 2,
            reset_after_ms: 3_600_000,
            max_concurrency: 2,
        },
        enforce_identify_limits: true,
        ..BotFixture::default()
    };
    let standin = BotStandIn::start(fixture).await.unwrap();
    let url = standin.base_url() + "/api/v10/gateway/bot";
    let limit = || {
        let url = url.clone();
        async move {
            let body: Value = reqwest::get(url).await.unwrap().json().await.unwrap();
            body["session_start_limit"].clone()
        }
    };
    assert_eq!(limit().await["remaining"], 2);
    assert_eq!(limit().await["max_concurrency"], 2);

    let identified = |shard: u32| {
        let standin = &standin;
        async move {
            let mut socket = connect(standin).await;
            assert_eq!(next(&mut socket).await["op"], 10);
            send(&mut socket, identify([shard, 4])).await;
            let answer = next(&mut socket).await;
            (
                answer["op"].clone(),
                answer["t"].clone(),
                answer["d"].clone(),
            )
        }
    };
    // Shards 0 and 1 are in different buckets: both start.
    assert_eq!(identified(0).await.1, "READY");
    assert_eq!(identified(1).await.1, "READY");
    assert_eq!(limit().await["remaining"], 0, "one start each");
    // Shard 2 shares shard 0's bucket within 5 s, and no start is left.
    let refused = identified(2).await;
    assert_eq!(
        (refused.0, refused.2),
        (json!(9), json!(false)),
        "Invalid Session"
    );
    assert_eq!(standin.refused_identifies(), [2]);
    assert_eq!(standin.identify_times().len(), 3);
    standin.shutdown().await;
}
