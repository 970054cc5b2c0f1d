//! JSON shapes the bot side of Discord sends, complete enough for serenity
//! 0.12.5 to deserialize (a missing required field makes serenity drop an
//! event silently — the bot's tests deserialize these into serenity's types
//! so a mismatch fails loudly).

use serde_json::{Value, json};

pub const TIMESTAMP: &str = "2026-01-01T00:00:00.000000+00:00";

pub fn user(id: u64, name: &str, bot: bool) -> Value {
    json!({
        "id": id.to_string(),
        "username": name,
        "discriminator": "0",
        "global_name": name,
        "avatar": null,
        "bot": bot,
        "public_flags": 0,
        "flags": 0,
    })
}

/// A guild as GUILD_CREATE carries it.
fn role(id: u64, name: &str, position: u64, permissions: &str) -> Value {
    json!({
        "id": id.to_string(),
        "name": name,
        "color": 0,
        "colors": {"primary_color": 0, "secondary_color": null, "tertiary_color": null},
        "hoist": false,
        "icon": null,
        "unicode_emoji": null,
        "position": position,
        "permissions": permissions,
        "managed": false,
        "mentionable": false,
        "flags": 0,
    })
}

fn text_channel(id: u64, guild_id: u64, position: u64) -> Value {
    json!({
        "id": id.to_string(),
        "type": 0,
        "guild_id": guild_id.to_string(),
        "position": position,
        "permission_overwrites": [],
        "name": format!("channel-{position}"),
        "topic": "What this channel is for, as people usually write it.",
        "nsfw": false,
        "last_message_id": null,
        "rate_limit_per_user": 0,
        "parent_id": null,
        "flags": 0,
    })
}

/// Fields of a GUILD_CREATE's guild that `GET /guilds/{id}` does not return.
pub const GUILD_CREATE_ONLY: &[&str] = &[
    "joined_at",
    "large",
    "unavailable",
    "member_count",
    "voice_states",
    "members",
    "channels",
    "threads",
    "presences",
    "stage_instances",
    "guild_scheduled_events",
    "soundboard_sounds",
    "lazy",
];

/// A GUILD_CREATE's guild with `channels` text channels and `roles` roles
/// besides `@everyone` (whose id is the guild's, as on Discord).
pub fn guild(id: u64, owner_id: u64, channels: usize, roles: usize) -> Value {
    // Child ids only need to be distinct snowflakes within the test.
    let child = |i: usize| id.wrapping_mul(1_000).wrapping_add(i as u64 + 1);
    let channel_list: Vec<Value> = (0..channels)
        .map(|i| text_channel(child(roles + i), id, i as u64))
        .collect();
    guild_with(id, &format!("Guild {id}"), owner_id, 2, channel_list, roles)
}

/// A guild channel as GUILD_CREATE and CHANNEL_* carry it.
pub fn channel(guild_id: u64, channel: &super::BotChannel) -> Value {
    let mut v = text_channel(channel.id, guild_id, channel.position as u64);
    v["name"] = json!(channel.name);
    v["position"] = json!(channel.position);
    v["type"] = json!(channel.kind);
    if !matches!(channel.kind, 0 | 5) {
        // Only text-like channels carry these.
        if let Some(fields) = v.as_object_mut() {
            for key in ["topic", "last_message_id", "rate_limit_per_user"] {
                fields.remove(key);
            }
        }
    }
    if channel.kind == 2 {
        v["bitrate"] = json!(64000);
        v["user_limit"] = json!(0);
    }
    v
}

/// A GUILD_CREATE's guild as [`super::BotGuild`] describes it.
pub fn guild_of(owner_id: u64, spec: &super::BotGuild) -> Value {
    let channels = spec.channels.iter().map(|c| channel(spec.id, c)).collect();
    guild_with(
        spec.id,
        &spec.name,
        owner_id,
        spec.member_count,
        channels,
        0,
    )
}

/// A GUILD_MEMBER_ADD's data: the member, plus the guild's id.
pub fn member_add(guild_id: u64, user: Value) -> Value {
    json!({
        "guild_id": guild_id.to_string(),
        "user": user,
        "nick": null,
        "avatar": null,
        "roles": [],
        "joined_at": TIMESTAMP,
        "premium_since": null,
        "deaf": false,
        "mute": false,
        "flags": 0,
        "pending": false,
    })
}

fn guild_with(
    id: u64,
    name: &str,
    owner_id: u64,
    member_count: u64,
    channel_list: Vec<Value>,
    roles: usize,
) -> Value {
    let child = |i: usize| id.wrapping_mul(1_000).wrapping_add(i as u64 + 1);
    let mut role_list = vec![role(id, "@everyone", 0, "1071698660929")];
    role_list.extend((0..roles).map(|i| role(child(i), &format!("role {i}"), i as u64 + 1, "0")));
    json!({
        "id": id.to_string(),
        "name": name,
        "icon": null,
        "splash": null,
        "discovery_splash": null,
        "owner_id": owner_id.to_string(),
        "afk_channel_id": null,
        "afk_timeout": 300,
        "verification_level": 0,
        "default_message_notifications": 0,
        "explicit_content_filter": 0,
        "roles": role_list,
        "emojis": [],
        "features": [],
        "mfa_level": 0,
        "application_id": null,
        "system_channel_id": null,
        "system_channel_flags": 0,
        "rules_channel_id": null,
        "max_presences": null,
        "max_members": 500000,
        "vanity_url_code": null,
        "description": null,
        "banner": null,
        "premium_tier": 0,
        "premium_subscription_count": 0,
        "preferred_locale": "en-US",
        "public_updates_channel_id": null,
        "max_video_channel_users": 25,
        "max_stage_video_channel_users": 50,
        "nsfw_level": 0,
        "stickers": [],
        "premium_progress_bar_enabled": false,
        "safety_alerts_channel_id": null,
        "joined_at": TIMESTAMP,
        "large": false,
        "unavailable": false,
        "member_count": member_count,
        "voice_states": [],
        "members": [],
        "channels": channel_list,
        "threads": [],
        "presences": [],
        "stage_instances": [],
        "guild_scheduled_events": [],
        "soundboard_sounds": [],
        "lazy": true,
    })
}

pub fn message(id: u64, channel_id: u64, author: Value, content: &str) -> Value {
    json!({
        "id": id.to_string(),
        "channel_id": channel_id.to_string(),
        "author": author,
        "content": content,
        "timestamp": TIMESTAMP,
        "edited_timestamp": null,
        "tts": false,
        "mention_everyone": false,
        "mentions": [],
        "mention_roles": [],
        "mention_channels": [],
        "attachments": [],
        "embeds": [],
        "reactions": [],
        "pinned": false,
        "type": 0,
        "flags": 0,
        "components": [],
    })
}

pub fn dm_channel(id: u64, recipient: Value) -> Value {
    json!({
        "id": id.to_string(),
        "type": 1,
        "last_message_id": null,
        "flags": 0,
        "recipients": [recipient],
    })
}

pub fn application(app_id: u64, owner: Value, flags: u64) -> Value {
    json!({
        "id": app_id.to_string(),
        "name": "Guildhall",
        "icon": null,
        "description": "",
        "rpc_origins": [],
        "bot_public": true,
        "bot_require_code_grant": false,
        "verify_key": "0000000000000000000000000000000000000000000000000000000000000000",
        "owner": owner,
        "team": null,
        "flags": flags,
        "summary": "",
    })
}

/// An application command interaction (type 2) for `/name`, from a guild
/// member (`guild_id` set) or from a DM; with `focused` naming one of its
/// options, the autocomplete interaction (type 4) for that option instead.
pub fn interaction(
    id: u64,
    app_id: u64,
    token: &str,
    call: &super::SlashCommand,
    user: Value,
    focused: Option<&str>,
) -> Value {
    let (name, channel_id, guild_id) = (call.name.as_str(), call.channel_id, call.guild_id);
    let command_id = app_id + 1;
    let options: Vec<Value> = call
        .options
        .iter()
        .map(|(name, value)| {
            let mut option = json!({"name": name, "type": 3, "value": value});
            if focused == Some(name.as_str()) {
                option["focused"] = json!(true);
            }
            option
        })
        .collect();
    let mut data = json!({"id": command_id.to_string(), "name": name, "type": 1});
    if !options.is_empty() {
        data["options"] = json!(options);
    }
    let locale = call.locale.as_deref().unwrap_or("en-US");
    let mut v = json!({
        "id": id.to_string(),
        "application_id": app_id.to_string(),
        "type": if focused.is_some() { 4 } else { 2 },
        "data": data,
        "channel_id": channel_id.to_string(),
        "channel": {"id": channel_id.to_string(), "type": if guild_id.is_some() { 0 } else { 1 }},
        "token": token,
        "version": 1,
        "locale": locale,
        "app_permissions": "2248473465835073",
        "entitlements": [],
        "authorizing_integration_owners": {"0": guild_id.unwrap_or(0).to_string()},
        "context": if guild_id.is_some() { 0 } else { 1 },
        "attachment_size_limit": 10485760,
    });
    match guild_id {
        Some(g) => {
            v["guild_id"] = json!(g.to_string());
            v["guild_locale"] = json!(call.guild_locale.as_deref().unwrap_or("en-US"));
            v["member"] = json!({
                "user": user,
                "nick": null,
                "avatar": null,
                "roles": [],
                "joined_at": TIMESTAMP,
                "premium_since": null,
                "deaf": false,
                "mute": false,
                "flags": 0,
                "pending": false,
                "permissions": "2248473465835073",
            });
        }
        None => v["user"] = user,
    }
    v
}

/// One command as Discord answers a bulk overwrite: what the bot submitted,
/// plus the fields Discord assigns (serenity requires `id`, `application_id`
/// and `version`).
pub fn registered_command(id: u64, app_id: u64, guild_id: Option<u64>, submitted: &Value) -> Value {
    let mut v = json!({
        "type": 1,
        "description": "",
        "options": [],
        "default_member_permissions": null,
        "nsfw": false,
    });
    if let (Some(out), Some(fields)) = (v.as_object_mut(), submitted.as_object()) {
        for (k, val) in fields {
            out.insert(k.clone(), val.clone());
        }
        out.insert("id".into(), json!(id.to_string()));
        out.insert("application_id".into(), json!(app_id.to_string()));
        out.insert("version".into(), json!(id.to_string()));
        if let Some(g) = guild_id {
            out.insert("guild_id".into(), json!(g.to_string()));
        }
    }
    v
}
