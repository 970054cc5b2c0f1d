//! What the bot records about the guilds it is in, on every backend: their
//! channels, the last failed welcome post, and whether it runs with the
//! GUILD_MEMBERS intent.

use store::GuildChannel;
use store::testing::each_backend;

fn channel(id: u64, name: &str, position: i32, kind: u8) -> GuildChannel {
    GuildChannel {
        id,
        name: name.into(),
        position,
        kind,
    }
}

const G: u64 = 1_100_000_000_000_000_001;
const OTHER: u64 = 1_100_000_000_000_000_002;

#[tokio::test]
async fn channels_are_replaced_changed_and_listed_text_first() {
    each_backend(|store, backend| async move {
        assert!(store.bot_guild_channels(G).await.unwrap().is_empty());
        store
            .bot_guild_channels_replace(
                G,
                &[
                    channel(G + 10, "voice", 0, 2),
                    channel(G + 11, "rules", 1, 0),
                    channel(G + 12, "일반", 0, 0),
                    channel(G + 13, "news", 2, 5),
                    channel(G + 14, "Category", 0, 4),
                ],
            )
            .await
            .unwrap();
        store
            .bot_guild_channels_replace(OTHER, &[channel(OTHER + 1, "elsewhere", 0, 0)])
            .await
            .unwrap();
        let names =
            |list: Vec<GuildChannel>| -> Vec<String> { list.into_iter().map(|c| c.name).collect() };
        assert_eq!(
            names(store.bot_guild_channels(G).await.unwrap()),
            ["일반", "rules", "news", "voice", "Category"],
            "{backend:?}"
        );
        let listed = store.bot_guild_channels(G).await.unwrap();
        assert_eq!(listed[0], channel(G + 12, "일반", 0, 0));
        assert!(listed[0].is_text() && listed[2].is_text() && !listed[3].is_text());

        // CHANNEL_UPDATE (renamed, moved), CHANNEL_CREATE, CHANNEL_DELETE.
        store
            .bot_guild_channel_upsert(G, &channel(G + 11, "read-me", 0, 0))
            .await
            .unwrap();
        store
            .bot_guild_channel_upsert(G, &channel(G + 15, "welcome", 3, 0))
            .await
            .unwrap();
        store.bot_guild_channel_remove(G, G + 13).await.unwrap();
        store.bot_guild_channel_remove(G, 12345).await.unwrap(); // unknown: nothing
        assert_eq!(
            names(store.bot_guild_channels(G).await.unwrap()),
            ["read-me", "일반", "welcome", "voice", "Category"],
            "{backend:?}"
        );

        // A new GUILD_CREATE replaces the whole set; another guild is untouched.
        store
            .bot_guild_channels_replace(G, &[channel(G + 20, "fresh", 0, 0)])
            .await
            .unwrap();
        assert_eq!(names(store.bot_guild_channels(G).await.unwrap()), ["fresh"]);
        assert_eq!(
            names(store.bot_guild_channels(OTHER).await.unwrap()),
            ["elsewhere"]
        );

        // A guild with more channels than one statement carries.
        let many: Vec<GuildChannel> = (0..700)
            .map(|i| channel(G + 1000 + i, &format!("c{i}"), i as i32, 0))
            .collect();
        store.bot_guild_channels_replace(G, &many).await.unwrap();
        assert_eq!(store.bot_guild_channels(G).await.unwrap().len(), 700);

        // The bot left: nothing is listed any more.
        store.bot_guild_channels_replace(G, &[]).await.unwrap();
        assert!(store.bot_guild_channels(G).await.unwrap().is_empty());

        // A name longer than Discord allows is cut, not refused.
        let long = "ㄱ".repeat(150);
        store
            .bot_guild_channel_upsert(G, &channel(G + 30, &long, 0, 0))
            .await
            .unwrap();
        let stored = &store.bot_guild_channels(G).await.unwrap()[0].name;
        assert_eq!(stored.chars().count(), 100, "{backend:?}");
    })
    .await;
}

#[tokio::test]
async fn a_welcome_failure_is_kept_until_cleared() {
    each_backend(|store, backend| async move {
        assert_eq!(store.guild_welcome_failure(G).await.unwrap(), None);
        store
            .guild_welcome_failure_record(G, 77, 50013, "Missing Permissions")
            .await
            .unwrap();
        let first = store.guild_welcome_failure(G).await.unwrap().unwrap();
        assert_eq!(
            (first.channel_id, first.code, first.message.as_str()),
            (77, 50013, "Missing Permissions"),
            "{backend:?}"
        );
        let now = chrono::Utc::now().timestamp();
        assert!((now - 60..=now).contains(&first.failed_at), "{first:?}");

        // The next failure replaces it.
        store
            .guild_welcome_failure_record(G, 78, 10003, &"x".repeat(300))
            .await
            .unwrap();
        let second = store.guild_welcome_failure(G).await.unwrap().unwrap();
        assert_eq!((second.channel_id, second.code), (78, 10003));
        assert_eq!(second.message.len(), 200, "cut to the column");
        assert_eq!(store.guild_welcome_failure(OTHER).await.unwrap(), None);

        store.guild_welcome_failure_clear(G).await.unwrap();
        assert_eq!(store.guild_welcome_failure(G).await.unwrap(), None);
        store.guild_welcome_failure_clear(G).await.unwrap(); // nothing to clear
    })
    .await;
}

#[tokio::test]
async fn the_members_intent_is_unknown_until_the_bot_reports_it() {
    each_backend(|store, backend| async move {
        assert_eq!(
            store.bot_members_intent().await.unwrap(),
            None,
            "{backend:?}"
        );
        store.bot_members_intent_set(true).await.unwrap();
        assert_eq!(store.bot_members_intent().await.unwrap(), Some(true));
        store.bot_members_intent_set(false).await.unwrap();
        assert_eq!(store.bot_members_intent().await.unwrap(), Some(false));
    })
    .await;
}
