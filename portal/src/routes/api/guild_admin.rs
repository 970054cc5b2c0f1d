//! `/api/v1/discord/guilds/{guild_id}/…`: a server's settings, channels,
//! tags and audit log as JSON. Bodies are read by hand rather than by
//! axum's `Json` so that every invalid field is reported at once, in
//! FastAPI's shape (`{"detail": [{"loc", "msg", "type"}]}`).

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use discord::GuildId;
use serde_json::{Map, Value, json};
use store::{AUDIT_PAGE_MAX, AuditEntry, GuildChannel, GuildPreferences, GuildTag, TagSaved};

use crate::AppState;
use crate::error::PortalError;
use crate::guild_admin::fields::{self, FieldError, TagContent, TagName, WelcomeMessage};
use crate::guild_admin::{self, Access, SettingsChange};
use crate::session::current_user::CurrentUser;
use crate::session::same_origin::SameOrigin;

/// Entries per audit page when `limit` is not given.
const AUDIT_DEFAULT_LIMIT: u32 = 50;

fn guild_id(raw: &str) -> Result<GuildId, PortalError> {
    raw.parse().map_err(|_| {
        PortalError::Validation(vec![FieldError::new(
            &["path", "guild_id"],
            "Must be a server id (a number)",
            "value_error",
        )])
    })
}

/// Epoch seconds as ISO 8601 in UTC, as FastAPI writes datetimes.
pub fn iso(epoch: i64) -> String {
    chrono::DateTime::from_timestamp(epoch, 0)
        .unwrap_or_default()
        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

pub fn settings_json(p: &GuildPreferences) -> Value {
    json!({
        "language": p.language.as_str(),
        "welcome": {
            "enabled": p.welcome_enabled,
            "channel_id": p.welcome_channel_id.map(|id| id.to_string()),
            "message": p.welcome_message,
        },
        "version": p.version,
    })
}

fn channel_json(c: &GuildChannel) -> Value {
    json!({"id": c.id.to_string(), "name": c.name, "position": c.position})
}

fn tag_json(t: &GuildTag) -> Value {
    json!({"name": t.name, "content": t.content, "updated_at": iso(t.updated_at)})
}

fn audit_json(e: &AuditEntry) -> Value {
    // Stored as JSON text; a value that does not parse (never written so)
    // is given as the text itself.
    let value = |v: &Option<String>| {
        v.as_deref()
            .map(|s| serde_json::from_str(s).unwrap_or_else(|_| Value::from(s)))
    };
    json!({
        "id": e.id,
        "at": iso(e.at),
        "action": e.action.as_str(),
        "subject": e.subject,
        "user": {
            "id": e.user_id,
            "discord_id": e.discord_user_id.to_string(),
            "name": e.discord_username,
        },
        "before": value(&e.before),
        "after": value(&e.after),
    })
}

/// A JSON body's fields, taken one by one; each problem is remembered
/// with its `loc` and the reading goes on, so all are reported together.
struct Body {
    errors: Vec<FieldError>,
}

impl Body {
    /// The body as an object, or the one error that says why not.
    fn parse(bytes: &[u8]) -> Result<Map<String, Value>, PortalError> {
        match serde_json::from_slice::<Value>(bytes) {
            Ok(Value::Object(map)) => Ok(map),
            Ok(_) => Err(PortalError::Validation(vec![FieldError::new(
                &["body"],
                "Input should be a valid dictionary or object",
                "model_attributes_type",
            )])),
            Err(e) => Err(PortalError::Validation(vec![FieldError::new(
                &["body", &e.column().to_string()],
                "JSON decode error",
                "json_invalid",
            )])),
        }
    }

    fn field<'v>(&mut self, map: &'v Map<String, Value>, loc: &[&str]) -> Option<&'v Value> {
        let name = loc.last().copied().unwrap_or_default();
        let value = map.get(name);
        if value.is_none() {
            self.errors
                .push(FieldError::new(loc, "Field required", "missing"));
        }
        value
    }

    fn string<'v>(&mut self, map: &'v Map<String, Value>, loc: &[&str]) -> Option<&'v str> {
        match self.field(map, loc)? {
            Value::String(s) => Some(s),
            _ => {
                self.errors.push(FieldError::new(
                    loc,
                    "Input should be a valid string",
                    "string_type",
                ));
                None
            }
        }
    }

    fn object<'v>(
        &mut self,
        map: &'v Map<String, Value>,
        loc: &[&str],
    ) -> Option<&'v Map<String, Value>> {
        match self.field(map, loc)? {
            Value::Object(m) => Some(m),
            _ => {
                self.errors.push(FieldError::new(
                    loc,
                    "Input should be a valid dictionary or object",
                    "model_attributes_type",
                ));
                None
            }
        }
    }

    fn check<T>(&mut self, loc: &[&str], result: Result<T, fields::Invalid>) -> Option<T> {
        result.map_err(|e| self.errors.push(e.at(loc))).ok()
    }
}

pub async fn get_settings(
    State(app): State<AppState>,
    CurrentUser(user): CurrentUser,
    Path(raw): Path<String>,
) -> Result<Response, PortalError> {
    let guild_id = guild_id(&raw)?;
    guild_admin::managed_guild(&app, &user, guild_id, Access::Read).await?;
    let preferences = app.store.guild_preferences(guild_id.get()).await?;
    Ok(Json(settings_json(&preferences)).into_response())
}

pub async fn put_settings(
    State(app): State<AppState>,
    _: SameOrigin,
    CurrentUser(user): CurrentUser,
    Path(raw): Path<String>,
    body: Bytes,
) -> Result<Response, PortalError> {
    let guild_id = guild_id(&raw)?;
    let (change, version) = parse_settings(&body)?;
    let saved = guild_admin::save_settings(&app, &user, guild_id, change, version).await?;
    Ok(Json(settings_json(&saved)).into_response())
}

fn parse_settings(bytes: &[u8]) -> Result<(SettingsChange, i64), PortalError> {
    let map = Body::parse(bytes)?;
    let mut body = Body { errors: Vec::new() };
    let language = body
        .string(&map, &["body", "language"])
        .and_then(|raw| body.check(&["body", "language"], fields::language(raw)));
    let version = match body.field(&map, &["body", "version"]) {
        Some(v) => match v.as_i64() {
            Some(n) if n >= 0 => Some(n),
            _ => {
                body.errors.push(FieldError::new(
                    &["body", "version"],
                    "Input should be a valid integer, the version the settings were read at",
                    "int_type",
                ));
                None
            }
        },
        None => None,
    };
    let mut welcome = None;
    if let Some(w) = body.object(&map, &["body", "welcome"]) {
        const ENABLED: [&str; 3] = ["body", "welcome", "enabled"];
        const MESSAGE: [&str; 3] = ["body", "welcome", "message"];
        let enabled = match body.field(w, &ENABLED) {
            Some(Value::Bool(b)) => Some(*b),
            Some(_) => {
                body.errors.push(FieldError::new(
                    &ENABLED,
                    "Input should be a valid boolean",
                    "bool_type",
                ));
                None
            }
            None => None,
        };
        let channel = match body.field(w, &guild_admin::CHANNEL_LOC) {
            Some(Value::Null) => Some(None),
            Some(Value::String(s)) => body
                .check(&guild_admin::CHANNEL_LOC, fields::snowflake(s))
                .map(Some),
            Some(_) => {
                body.errors.push(FieldError::new(
                    &guild_admin::CHANNEL_LOC,
                    "Input should be a valid string or null",
                    "string_type",
                ));
                None
            }
            None => None,
        };
        let message = body.string(w, &MESSAGE);
        if let (Some(enabled), Some(channel), Some(message)) = (enabled, channel, message) {
            let message = body.check(&MESSAGE, WelcomeMessage::parse(message, enabled));
            welcome = message.map(|m| (enabled, channel, m));
        }
    }
    match (language, welcome, version) {
        (Some(language), Some((welcome_enabled, welcome_channel_id, welcome_message)), Some(v))
            if body.errors.is_empty() =>
        {
            Ok((
                SettingsChange {
                    language,
                    welcome_enabled,
                    welcome_channel_id,
                    welcome_message,
                },
                v,
            ))
        }
        _ => Err(PortalError::Validation(body.errors)),
    }
}

pub async fn channels(
    State(app): State<AppState>,
    CurrentUser(user): CurrentUser,
    Path(raw): Path<String>,
) -> Result<Response, PortalError> {
    let guild_id = guild_id(&raw)?;
    guild_admin::managed_guild(&app, &user, guild_id, Access::Read).await?;
    let channels = guild_admin::text_channels(&app, guild_id).await?;
    Ok(Json(channels.iter().map(channel_json).collect::<Vec<_>>()).into_response())
}

pub async fn tags(
    State(app): State<AppState>,
    CurrentUser(user): CurrentUser,
    Path(raw): Path<String>,
) -> Result<Response, PortalError> {
    let guild_id = guild_id(&raw)?;
    guild_admin::managed_guild(&app, &user, guild_id, Access::Read).await?;
    let tags = guild_admin::tags(&app, guild_id).await?;
    Ok(Json(tags.iter().map(tag_json).collect::<Vec<_>>()).into_response())
}

/// 201 with the tag when it was created, 200 when replaced (or unchanged).
pub async fn put_tag(
    State(app): State<AppState>,
    _: SameOrigin,
    CurrentUser(user): CurrentUser,
    Path((raw, name)): Path<(String, String)>,
    body: Bytes,
) -> Result<Response, PortalError> {
    let guild_id = guild_id(&raw)?;
    let map = Body::parse(&body)?;
    let mut body = Body { errors: Vec::new() };
    let name = body.check(&["path", "name"], TagName::parse(&name));
    let content = body
        .string(&map, &["body", "content"])
        .and_then(|raw| body.check(&["body", "content"], TagContent::parse(raw)));
    let (Some(name), Some(content)) = (name, content) else {
        return Err(PortalError::Validation(body.errors));
    };
    let (saved, tag) = guild_admin::save_tag(&app, &user, guild_id, &name, &content).await?;
    let status = match saved {
        TagSaved::Created => StatusCode::CREATED,
        TagSaved::Updated | TagSaved::Unchanged => StatusCode::OK,
    };
    Ok((status, Json(tag_json(&tag))).into_response())
}

pub async fn delete_tag(
    State(app): State<AppState>,
    _: SameOrigin,
    CurrentUser(user): CurrentUser,
    Path((raw, name)): Path<(String, String)>,
) -> Result<Response, PortalError> {
    let guild_id = guild_id(&raw)?;
    let name = TagName::parse(&name)
        .map_err(|e| PortalError::Validation(vec![e.at(&["path", "name"])]))?;
    guild_admin::delete_tag(&app, &user, guild_id, &name).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// `?limit=1..200` (default 50) entries, newest first, with an id below
/// `?before=` when given.
pub async fn audit(
    State(app): State<AppState>,
    CurrentUser(user): CurrentUser,
    Path(raw): Path<String>,
    RawQuery(query): RawQuery,
) -> Result<Response, PortalError> {
    let guild_id = guild_id(&raw)?;
    let (limit, before) = audit_query(query.as_deref().unwrap_or_default())?;
    guild_admin::managed_guild(&app, &user, guild_id, Access::Read).await?;
    let entries = app.store.guild_audit(guild_id.get(), limit, before).await?;
    Ok(Json(entries.iter().map(audit_json).collect::<Vec<_>>()).into_response())
}

pub fn audit_query(query: &str) -> Result<(u32, Option<i64>), PortalError> {
    let mut limit = AUDIT_DEFAULT_LIMIT;
    let mut before = None;
    let mut errors = Vec::new();
    for (key, value) in url::form_urlencoded::parse(query.as_bytes()) {
        match key.as_ref() {
            "limit" => match value.parse::<u32>() {
                Ok(n) if (1..=AUDIT_PAGE_MAX).contains(&n) => limit = n,
                _ => errors.push(FieldError::new(
                    &["query", "limit"],
                    format!("Input should be a whole number from 1 to {AUDIT_PAGE_MAX}"),
                    "int_parsing",
                )),
            },
            "before" => match value.parse::<i64>() {
                Ok(n) if n > 0 => before = Some(n),
                _ => errors.push(FieldError::new(
                    &["query", "before"],
                    "Input should be an entry id (a positive whole number)",
                    "int_parsing",
                )),
            },
            _ => {}
        }
    }
    if errors.is_empty() {
        Ok((limit, before))
    } else {
        Err(PortalError::Validation(errors))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn errors(body: &str) -> Vec<(String, &'static str)> {
        match parse_settings(body.as_bytes()) {
            Err(PortalError::Validation(errors)) => errors
                .into_iter()
                .map(|e| (e.loc.join("."), e.kind))
                .collect(),
            other => panic!("{body}: {other:?}"),
        }
    }

    #[test]
    fn settings_bodies_are_read_field_by_field() {
        let (change, version) = parse_settings(
            br#"{"language":"ko","welcome":{"enabled":true,"channel_id":"41771983423143937","message":"Hi {user}"},"version":3}"#,
        )
        .unwrap();
        assert_eq!(version, 3);
        assert_eq!(change.language, store::GuildLanguage::Ko);
        assert_eq!(change.welcome_channel_id, Some(41771983423143937));

        assert_eq!(errors("{"), [("body.1".to_owned(), "json_invalid")]);
        assert_eq!(errors("[]"), [("body".to_owned(), "model_attributes_type")]);
        assert_eq!(
            errors("{}"),
            [
                ("body.language".to_owned(), "missing"),
                ("body.version".to_owned(), "missing"),
                ("body.welcome".to_owned(), "missing"),
            ]
        );
        assert_eq!(
            errors(
                r#"{"language":"fr","welcome":{"enabled":"yes","channel_id":5,"message":"x"},"version":"1"}"#
            ),
            [
                ("body.language".to_owned(), "enum"),
                ("body.version".to_owned(), "int_type"),
                ("body.welcome.enabled".to_owned(), "bool_type"),
                ("body.welcome.channel_id".to_owned(), "string_type"),
            ]
        );
        assert_eq!(
            errors(
                r#"{"language":"en","welcome":{"enabled":true,"channel_id":null,"message":"{nope}"},"version":0}"#
            ),
            [("body.welcome.message".to_owned(), "value_error")]
        );
    }

    #[test]
    fn audit_queries() {
        assert_eq!(audit_query("").unwrap(), (50, None));
        assert_eq!(audit_query("limit=5&before=99").unwrap(), (5, Some(99)));
        for bad in ["limit=0", "limit=201", "limit=x", "before=-1", "before=z"] {
            assert!(audit_query(bad).is_err(), "{bad}");
        }
    }
}
