//! Guild preferences, tags and the audit log on every backend: versions and
//! revisions, concurrent saves, the tag limit, Hangul names, writes and
//! their audit entries committing together, pruning.

use store::testing::{ALL_BACKENDS, TestDatabase, each_backend, raw};
use store::{
    AUDIT_RETENTION_SECONDS, AuditAction, AuditActor, GuildLanguage, GuildPreferences,
    PreferencesUpdate, StoreError, TAGS_PER_GUILD_MAX, TagSaved,
};

const GUILD: u64 = 1_234_567_890_123_456_789;
const OTHER: u64 = 987_654_321_987_654_321;
const NOW: i64 = 1_760_000_000;

fn actor() -> AuditActor {
    AuditActor {
        user_id: None,
        discord_user_id: 80_351_110_224_678_912,
        discord_username: "nelly".into(),
    }
}

fn update(language: GuildLanguage, message: &str) -> PreferencesUpdate {
    PreferencesUpdate {
        language,
        welcome_enabled: true,
        welcome_channel_id: Some(41_771_983_423_143_937),
        welcome_message: message.into(),
    }
}

#[tokio::test]
async fn preferences_start_at_the_defaults_and_each_save_moves_version_and_revision() {
    each_backend(|store, backend| async move {
        let defaults = store.guild_preferences(GUILD).await.unwrap();
        assert_eq!(defaults, GuildPreferences::defaults(GUILD), "{backend:?}");
        assert_eq!((defaults.version, defaults.revision), (0, 0));
        assert!(store.guild_revisions(&[GUILD]).await.unwrap().is_empty());

        let saved = store
            .guild_preferences_save(GUILD, &update(GuildLanguage::Ko, "어서 오세요 {user}"), 0, &actor(), NOW)
            .await
            .unwrap();
        assert_eq!((saved.version, saved.revision), (1, 1));
        assert_eq!(store.guild_preferences(GUILD).await.unwrap(), saved);
        assert_eq!(saved.language, GuildLanguage::Ko);
        assert_eq!(saved.welcome_channel_id, Some(41_771_983_423_143_937));
        assert_eq!(saved.welcome_message, "어서 오세요 {user}");

        // Both field groups changed: one entry each.
        let log = store.guild_audit(GUILD, 50, None).await.unwrap();
        assert_eq!(log.len(), 2, "{log:?}");
        assert!(log.iter().all(|e| e.action == AuditAction::SettingsUpdate));
        let language = log.iter().find(|e| e.subject == "language").unwrap();
        assert_eq!(language.before.as_deref(), Some("\"auto\""));
        assert_eq!(language.after.as_deref(), Some("\"ko\""));
        let welcome = log.iter().find(|e| e.subject == "welcome").unwrap();
        let after: serde_json::Value = serde_json::from_str(welcome.after.as_deref().unwrap()).unwrap();
        assert_eq!(
            after,
            serde_json::json!({"enabled": true, "channel_id": "41771983423143937", "message": "어서 오세요 {user}"})
        );
        assert_eq!(welcome.discord_user_id, 80_351_110_224_678_912);
        assert_eq!(welcome.discord_username, "nelly");
        assert_eq!(welcome.at, NOW);

        // The same form again changes nothing and writes nothing.
        let same = store
            .guild_preferences_save(GUILD, &update(GuildLanguage::Ko, "어서 오세요 {user}"), 1, &actor(), NOW)
            .await
            .unwrap();
        assert_eq!(same, saved);
        assert_eq!(store.guild_audit(GUILD, 50, None).await.unwrap().len(), 2);

        // Language only: one entry, version 2.
        let again = store
            .guild_preferences_save(GUILD, &update(GuildLanguage::En, "어서 오세요 {user}"), 1, &actor(), NOW + 1)
            .await
            .unwrap();
        assert_eq!((again.version, again.revision), (2, 2));
        let log = store.guild_audit(GUILD, 50, None).await.unwrap();
        assert_eq!(log.len(), 3);
        assert_eq!(log[0].subject, "language", "newest first");
        assert_eq!(store.guild_revisions(&[GUILD, OTHER]).await.unwrap(), [(GUILD, 2)].into());
        assert_eq!(store.guild_preferences(OTHER).await.unwrap().version, 0, "other guilds untouched");
    })
    .await;
}

#[tokio::test]
async fn a_stale_form_is_refused_and_changes_nothing() {
    each_backend(|store, backend| async move {
        store
            .guild_preferences_save(
                GUILD,
                &update(GuildLanguage::En, "hi {user}"),
                0,
                &actor(),
                NOW,
            )
            .await
            .unwrap();
        let err = store
            .guild_preferences_save(GUILD, &update(GuildLanguage::Ko, "stale"), 0, &actor(), NOW)
            .await
            .unwrap_err();
        assert!(
            matches!(err, StoreError::SettingsChanged { current_version: 1 }),
            "{backend:?}: {err:?}"
        );
        let stored = store.guild_preferences(GUILD).await.unwrap();
        assert_eq!(
            (stored.language, stored.welcome_message.as_str()),
            (GuildLanguage::En, "hi {user}")
        );
        assert_eq!(store.guild_audit(GUILD, 50, None).await.unwrap().len(), 2);
        // A version from the future is as wrong as one from the past.
        let err = store
            .guild_preferences_save(GUILD, &update(GuildLanguage::Ko, "x"), 7, &actor(), NOW)
            .await
            .unwrap_err();
        assert!(matches!(err, StoreError::SettingsChanged { .. }), "{err:?}");
    })
    .await;
}

#[tokio::test]
async fn two_concurrent_saves_of_the_same_version_one_wins_the_other_is_told() {
    each_backend(|store, backend| async move {
        // From no row at all (both insert it), then from an existing row.
        for (round, version) in [(0, 0), (1, 1)] {
            let (a, b) = (store.clone(), store.clone());
            let first = update(GuildLanguage::En, &format!("first {round}"));
            let second = update(GuildLanguage::Ko, &format!("second {round}"));
            let (ra, rb) = tokio::join!(
                tokio::spawn(async move {
                    a.guild_preferences_save(GUILD, &first, version, &actor(), NOW)
                        .await
                }),
                tokio::spawn(async move {
                    b.guild_preferences_save(GUILD, &second, version, &actor(), NOW)
                        .await
                }),
            );
            let results = [ra.unwrap(), rb.unwrap()];
            let won: Vec<&GuildPreferences> =
                results.iter().filter_map(|r| r.as_ref().ok()).collect();
            let refused = results
                .iter()
                .filter(|r| matches!(r, Err(StoreError::SettingsChanged { .. })))
                .count();
            assert_eq!(
                (won.len(), refused),
                (1, 1),
                "{backend:?} round {round}: {results:?}"
            );
            let stored = store.guild_preferences(GUILD).await.unwrap();
            assert_eq!(&stored, won[0], "the winner's form is what is stored");
            assert_eq!(stored.version, version + 1);
        }
    })
    .await;
}

#[tokio::test]
async fn tags_are_created_updated_and_deleted_with_their_audit_entries() {
    each_backend(|store, backend| async move {
        let a = actor();
        assert_eq!(
            store
                .guild_tag_save(GUILD, "rules", "Be kind.", &a, NOW)
                .await
                .unwrap(),
            TagSaved::Created
        );
        assert_eq!(
            store
                .guild_tag_save(GUILD, "규칙", "친절하게", &a, NOW)
                .await
                .unwrap(),
            TagSaved::Created,
            "{backend:?}"
        );
        assert_eq!(
            store
                .guild_tag_save(GUILD, "규칙-2", "둘째", &a, NOW)
                .await
                .unwrap(),
            TagSaved::Created
        );
        assert_eq!(
            store
                .guild_tag_save(GUILD, "faq_1", "@everyone read it", &a, NOW)
                .await
                .unwrap(),
            TagSaved::Created
        );
        assert_eq!(
            store.guild_revisions(&[GUILD]).await.unwrap()[&GUILD],
            4,
            "every tag write moves the revision"
        );
        assert_eq!(
            store.guild_preferences(GUILD).await.unwrap().version,
            0,
            "tags leave the form's version alone"
        );

        assert_eq!(
            store
                .guild_tag_save(GUILD, "rules", "Be kind.", &a, NOW)
                .await
                .unwrap(),
            TagSaved::Unchanged
        );
        assert_eq!(
            store
                .guild_tag_save(GUILD, "rules", "Be very kind.", &a, NOW + 5)
                .await
                .unwrap(),
            TagSaved::Updated
        );
        assert_eq!(store.guild_revisions(&[GUILD]).await.unwrap()[&GUILD], 5);

        let names: Vec<String> = store
            .guild_tags(GUILD)
            .await
            .unwrap()
            .into_iter()
            .map(|t| t.name)
            .collect();
        assert_eq!(names, ["faq_1", "rules", "규칙", "규칙-2"]);
        let rules = store.guild_tag(GUILD, "rules").await.unwrap().unwrap();
        assert_eq!(
            (rules.content.as_str(), rules.updated_at),
            ("Be very kind.", NOW + 5)
        );
        assert_eq!(
            store
                .guild_tag(GUILD, "규칙")
                .await
                .unwrap()
                .unwrap()
                .content,
            "친절하게"
        );
        assert_eq!(
            store.guild_tag(GUILD, "RULES").await.unwrap(),
            None,
            "names compare exactly"
        );
        assert!(store.guild_tags(OTHER).await.unwrap().is_empty());

        assert!(
            store
                .guild_tag_delete(GUILD, "규칙", &a, NOW + 6)
                .await
                .unwrap()
        );
        assert!(
            !store
                .guild_tag_delete(GUILD, "규칙", &a, NOW + 7)
                .await
                .unwrap(),
            "already gone"
        );
        assert_eq!(store.guild_tag(GUILD, "규칙").await.unwrap(), None);
        assert_eq!(store.guild_revisions(&[GUILD]).await.unwrap()[&GUILD], 6);

        let log = store.guild_audit(GUILD, 50, None).await.unwrap();
        let summary: Vec<(AuditAction, &str, Option<&str>, Option<&str>)> = log
            .iter()
            .map(|e| {
                (
                    e.action,
                    e.subject.as_str(),
                    e.before.as_deref(),
                    e.after.as_deref(),
                )
            })
            .collect();
        assert_eq!(
            summary,
            [
                (AuditAction::TagDelete, "규칙", Some("\"친절하게\""), None),
                (
                    AuditAction::TagUpdate,
                    "rules",
                    Some("\"Be kind.\""),
                    Some("\"Be very kind.\"")
                ),
                (
                    AuditAction::TagCreate,
                    "faq_1",
                    None,
                    Some("\"@everyone read it\"")
                ),
                (AuditAction::TagCreate, "규칙-2", None, Some("\"둘째\"")),
                (AuditAction::TagCreate, "규칙", None, Some("\"친절하게\"")),
                (AuditAction::TagCreate, "rules", None, Some("\"Be kind.\"")),
            ]
        );
        // Pages: the last id of one asks for the next.
        let first = store.guild_audit(GUILD, 4, None).await.unwrap();
        let rest = store
            .guild_audit(GUILD, 4, Some(first[3].id))
            .await
            .unwrap();
        assert_eq!(first.len() + rest.len(), 6);
        assert_eq!(rest[0].id, log[4].id);
    })
    .await;
}

#[tokio::test]
async fn a_guild_holds_at_most_200_tags() {
    each_backend(|store, backend| async move {
        let a = actor();
        for i in 0..TAGS_PER_GUILD_MAX {
            store
                .guild_tag_save(GUILD, &format!("tag-{i:03}"), "x", &a, NOW)
                .await
                .unwrap();
        }
        let err = store
            .guild_tag_save(GUILD, "one-too-many", "x", &a, NOW)
            .await
            .unwrap_err();
        assert!(
            matches!(err, StoreError::TagLimitReached { limit: 200 }),
            "{backend:?}: {err:?}"
        );
        assert_eq!(store.guild_tag(GUILD, "one-too-many").await.unwrap(), None);
        let revision = store.guild_revisions(&[GUILD]).await.unwrap()[&GUILD];
        assert_eq!(revision, 200, "the refused write moved nothing");
        assert_eq!(
            store.guild_audit(GUILD, 1, None).await.unwrap()[0].subject,
            "tag-199"
        );
        // Editing an existing tag is still allowed; a freed place can be reused.
        assert_eq!(
            store
                .guild_tag_save(GUILD, "tag-000", "y", &a, NOW)
                .await
                .unwrap(),
            TagSaved::Updated
        );
        assert!(
            store
                .guild_tag_delete(GUILD, "tag-001", &a, NOW)
                .await
                .unwrap()
        );
        assert_eq!(
            store
                .guild_tag_save(GUILD, "one-too-many", "x", &a, NOW)
                .await
                .unwrap(),
            TagSaved::Created
        );
        // Another guild has its own 200.
        assert_eq!(
            store
                .guild_tag_save(OTHER, "tag-000", "x", &a, NOW)
                .await
                .unwrap(),
            TagSaved::Created
        );
    })
    .await;
}

#[tokio::test]
async fn concurrent_tag_creations_never_pass_the_limit() {
    each_backend(|store, backend| async move {
        let a = actor();
        for i in 0..TAGS_PER_GUILD_MAX - 1 {
            store
                .guild_tag_save(GUILD, &format!("tag-{i:03}"), "x", &a, NOW)
                .await
                .unwrap();
        }
        let tasks: Vec<_> = (0..4)
            .map(|i| {
                let store = store.clone();
                tokio::spawn(async move {
                    store
                        .guild_tag_save(GUILD, &format!("late-{i}"), "x", &actor(), NOW)
                        .await
                })
            })
            .collect();
        let mut created = 0;
        for t in tasks {
            match t.await.unwrap() {
                Ok(TagSaved::Created) => created += 1,
                Err(StoreError::TagLimitReached { .. }) => {}
                other => panic!("{backend:?}: {other:?}"),
            }
        }
        assert_eq!(created, 1, "{backend:?}");
        assert_eq!(
            store.guild_tags(GUILD).await.unwrap().len(),
            TAGS_PER_GUILD_MAX
        );
    })
    .await;
}

/// A write whose audit entry cannot be written does not happen either.
#[tokio::test]
async fn a_write_and_its_audit_entry_commit_together() {
    for backend in ALL_BACKENDS {
        let Some(db) = TestDatabase::create(backend).await.unwrap() else {
            continue;
        };
        let store = db.store().await;
        store
            .guild_tag_save(GUILD, "kept", "before", &actor(), NOW)
            .await
            .unwrap();
        raw::execute(&db.url, "DROP TABLE guild_audit_log")
            .await
            .unwrap();
        let tag = store
            .guild_tag_save(GUILD, "kept", "after", &actor(), NOW)
            .await;
        let new_tag = store.guild_tag_save(GUILD, "new", "x", &actor(), NOW).await;
        let delete = store.guild_tag_delete(GUILD, "kept", &actor(), NOW).await;
        let prefs = store
            .guild_preferences_save(GUILD, &update(GuildLanguage::Ko, "x"), 0, &actor(), NOW)
            .await;
        let after = (
            store.guild_tags(GUILD).await.unwrap(),
            store.guild_preferences(GUILD).await.unwrap(),
        );
        store.close().await;
        db.drop_database().await;
        assert!(
            tag.is_err() && new_tag.is_err() && delete.is_err() && prefs.is_err(),
            "{backend:?}"
        );
        let (tags, prefs) = after;
        assert_eq!(tags.len(), 1, "{backend:?}: {tags:?}");
        assert_eq!(tags[0].content, "before");
        assert_eq!(
            (prefs.version, prefs.revision, prefs.language),
            (0, 1, GuildLanguage::Auto)
        );
    }
}

#[tokio::test]
async fn audit_entries_older_than_90_days_are_pruned() {
    each_backend(|store, backend| async move {
        let old = NOW - AUDIT_RETENTION_SECONDS - 1;
        store
            .guild_tag_save(GUILD, "old", "x", &actor(), old)
            .await
            .unwrap();
        store
            .guild_tag_save(OTHER, "old", "x", &actor(), old)
            .await
            .unwrap();
        store
            .guild_tag_save(GUILD, "edge", "x", &actor(), NOW - AUDIT_RETENTION_SECONDS)
            .await
            .unwrap();
        store
            .guild_tag_save(GUILD, "new", "x", &actor(), NOW)
            .await
            .unwrap();
        assert_eq!(
            store.guild_audit_prune(NOW).await.unwrap(),
            2,
            "{backend:?}"
        );
        let subjects: Vec<String> = store
            .guild_audit(GUILD, 50, None)
            .await
            .unwrap()
            .into_iter()
            .map(|e| e.subject)
            .collect();
        assert_eq!(subjects, ["new", "edge"]);
        assert!(store.guild_audit(OTHER, 50, None).await.unwrap().is_empty());
        // The tags themselves stay.
        assert!(store.guild_tag(GUILD, "old").await.unwrap().is_some());
    })
    .await;
}
