//! A server's pages for its managers: `GET /discord/guilds/{id}` (overview,
//! and the settings form), `POST …/settings`, `GET`/`POST …/tags`,
//! `POST …/tags/{name}/delete`, `GET …/audit`. Every POST must carry the
//! session's form token and come from the portal's own origin; a form with
//! an error is shown again with what the person typed.

use std::collections::HashMap;

use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use discord::GuildId;
use guilds::GuildView;
use i18n::Lang;
use serde::Serialize;
use store::{
    AuditAction, AuditEntry, DEFAULT_WELCOME_MESSAGE, GuildPreferences, TAGS_PER_GUILD_MAX, User,
};

use crate::AppState;
use crate::error::PortalError;
use crate::guild_admin::fields::{self, FieldError, TagContent, TagName, WelcomeMessage};
use crate::guild_admin::{self, Access, SettingsChange, SettingsState};
use crate::language::RequestLanguage;
use crate::pages::{HeaderUser, initials, render};
use crate::routes::api::guild_admin::{audit_query, iso};
use crate::session::current_user::CurrentUser;
use crate::session::form_token::{CheckedForm, FormToken};
use crate::session::same_origin::SameOrigin;

/// Audit entries per page.
const AUDIT_PAGE: u32 = 50;

fn guild_id(raw: &str) -> Result<GuildId, PortalError> {
    // Anything but a snowflake names no guild of anyone's.
    raw.parse().map_err(|_| PortalError::NotFound)
}

fn query_param(query: Option<&str>, name: &str) -> Option<String> {
    url::form_urlencoded::parse(query.unwrap_or_default().as_bytes())
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
}

/// Errors by form field (the last part of their `loc`), in the page's
/// language, as templates show them.
fn by_field(errors: &[FieldError], lang: Lang) -> HashMap<String, String> {
    errors
        .iter()
        .map(|e| (e.field().to_owned(), e.text(lang)))
        .collect()
}

#[derive(Serialize)]
struct GuildHeader<'a> {
    #[serde(flatten)]
    guild: &'a GuildView,
    initials: String,
    /// In the page's language.
    permission_names: Vec<String>,
}

impl<'a> GuildHeader<'a> {
    fn new(guild: &'a GuildView, lang: Lang) -> Self {
        GuildHeader {
            initials: initials(&guild.name),
            permission_names: guild
                .permission_names()
                .into_iter()
                .map(|name| i18n::text(lang, &i18n::permission_key(name)))
                .collect(),
            guild,
        }
    }
}

/// The settings form's values: as stored, or as the person typed them.
#[derive(Debug, Clone, Serialize)]
struct SettingsForm {
    language: String,
    enabled: bool,
    channel_id: String,
    message: String,
    version: String,
}

impl SettingsForm {
    /// As stored; a server that never saved its settings is offered the
    /// default welcome message in the page's language.
    fn stored(p: &GuildPreferences, lang: Lang) -> Self {
        let never_saved = p.version == 0 && p.welcome_message == DEFAULT_WELCOME_MESSAGE;
        let message = if never_saved {
            let [user, server, _] = fields::PLACEHOLDERS;
            i18n::Message::new("settings-welcome-default")
                .arg("user", user)
                .arg("server", server)
                .text(lang)
        } else {
            p.welcome_message.clone()
        };
        SettingsForm {
            language: p.language.as_str().to_owned(),
            enabled: p.welcome_enabled,
            channel_id: p
                .welcome_channel_id
                .map(|id| id.to_string())
                .unwrap_or_default(),
            message,
            version: p.version.to_string(),
        }
    }

    fn posted(fields: &HashMap<String, String>) -> Self {
        let get = |name: &str| fields.get(name).cloned().unwrap_or_default();
        SettingsForm {
            language: get("language"),
            enabled: fields.contains_key("enabled"),
            channel_id: get("channel_id"),
            message: get("message"),
            version: get("version"),
        }
    }

    /// The change it asks for and the version it was shown at, or every
    /// field's error.
    fn parse(&self) -> Result<(SettingsChange, i64), Vec<FieldError>> {
        let mut errors = Vec::new();
        let language = keep(
            &mut errors,
            &["body", "language"],
            fields::language(&self.language),
        );
        let channel = if self.channel_id.is_empty() {
            Some(None)
        } else {
            keep(
                &mut errors,
                &guild_admin::CHANNEL_LOC,
                fields::snowflake(&self.channel_id),
            )
            .map(Some)
        };
        let message = keep(
            &mut errors,
            &["body", "welcome", "message"],
            WelcomeMessage::parse(&self.message, self.enabled),
        );
        let version = keep(
            &mut errors,
            &["body", "version"],
            self.version.parse::<i64>().map_err(|_| {
                fields::Invalid::new(i18n::Message::new("form-damaged"), "int_parsing")
            }),
        );
        match (language, channel, message, version) {
            (Some(language), Some(welcome_channel_id), Some(welcome_message), Some(version)) => {
                Ok((
                    SettingsChange {
                        language,
                        welcome_enabled: self.enabled,
                        welcome_channel_id,
                        welcome_message,
                    },
                    version,
                ))
            }
            _ => Err(errors),
        }
    }
}

/// `r`'s value, or `None` with its error noted at `loc`.
fn keep<T>(errors: &mut Vec<FieldError>, loc: &[&str], r: Result<T, fields::Invalid>) -> Option<T> {
    r.map_err(|e| errors.push(e.at(loc))).ok()
}

#[derive(Serialize)]
struct ChannelOption {
    id: String,
    name: String,
    selected: bool,
}

#[derive(Serialize)]
struct FailureView {
    channel: String,
    at: String,
    message: String,
    code: i64,
}

/// How the settings form is shown after a POST that did not save.
struct Redisplay {
    form: SettingsForm,
    errors: Vec<FieldError>,
    notice: Option<String>,
    status: StatusCode,
}

fn when(epoch: i64, lang: Lang) -> String {
    chrono::DateTime::from_timestamp(epoch, 0)
        .map(|t| i18n::datetime(lang, t))
        .unwrap_or_default()
}

/// `GET /discord/guilds/{guild_id}`: the overview; for a manager of a
/// guild the bot is in, the settings form too.
pub async fn one_guild(
    State(app): State<AppState>,
    CurrentUser(user): CurrentUser,
    language: RequestLanguage,
    form_token: FormToken,
    Path(raw_id): Path<String>,
    RawQuery(query): RawQuery,
) -> Result<Response, PortalError> {
    let guild_id = guild_id(&raw_id)?;
    let saved = query_param(query.as_deref(), "saved").is_some();
    let page = Page {
        user: &user,
        language: &language,
        form_token: &form_token,
    };
    guild_page(&app, page, guild_id, None, saved).await
}

/// Who a page is for, in which language, with which form token.
#[derive(Clone, Copy)]
struct Page<'a> {
    user: &'a User,
    language: &'a RequestLanguage,
    form_token: &'a FormToken,
}

async fn guild_page(
    app: &AppState,
    Page {
        user,
        language,
        form_token,
    }: Page<'_>,
    guild_id: GuildId,
    redisplay: Option<Redisplay>,
    saved: bool,
) -> Result<Response, PortalError> {
    let lang = language.resolve();
    let (guild, stale) = app
        .listing
        .guild(user.id, guild_id)
        .await?
        .ok_or(PortalError::NotFound)?;
    let header = HeaderUser::from_user(user, &app.config.discord.cdn_url);
    let manage = guild.can_manage && guild.bot_present;
    let state: Option<SettingsState> = if manage {
        Some(guild_admin::settings_state(app, guild_id).await?)
    } else {
        None
    };
    let status = redisplay.as_ref().map_or(StatusCode::OK, |r| r.status);
    let (form, errors, notice) = match (redisplay, &state) {
        (Some(r), _) => (Some(r.form), by_field(&r.errors, lang), r.notice),
        (None, Some(s)) => (
            Some(SettingsForm::stored(&s.preferences, lang)),
            HashMap::new(),
            None,
        ),
        (None, None) => (None, HashMap::new(), None),
    };
    let selected = form
        .as_ref()
        .map(|f| f.channel_id.clone())
        .unwrap_or_default();
    let channels: Vec<ChannelOption> = state
        .iter()
        .flat_map(|s| &s.channels)
        .map(|c| ChannelOption {
            id: c.id.to_string(),
            name: c.name.clone(),
            selected: c.id.to_string() == selected,
        })
        .collect();
    // A saved (or typed) channel the bot no longer sees: flagged, not hidden.
    let deleted_channel =
        (!selected.is_empty() && !channels.iter().any(|c| c.selected)).then_some(selected);
    let failure = state
        .as_ref()
        .and_then(|s| s.welcome_failure.as_ref())
        .map(|f| FailureView {
            channel: state
                .iter()
                .flat_map(|s| &s.channels)
                .find(|c| c.id == f.channel_id)
                .map(|c| format!("#{}", c.name))
                .unwrap_or_else(|| {
                    i18n::Message::new("settings-channel-fallback")
                        .arg("id", f.channel_id.to_string())
                        .text(lang)
                }),
            at: when(f.failed_at, lang),
            message: f.message.clone(),
            code: f.code,
        });
    let html = render(
        app,
        "guild.html",
        language,
        minijinja::context! {
            user => header,
            guild => GuildHeader::new(&guild, lang),
            stale,
            manage,
            form,
            errors,
            notice,
            saved,
            channels,
            deleted_channel,
            failure,
            members_intent => state.as_ref().and_then(|s| s.members_intent),
            csrf_token => form_token.as_str(),
        },
    )?;
    Ok((status, html).into_response())
}

/// `POST /discord/guilds/{guild_id}/settings`.
pub async fn save_settings(
    State(app): State<AppState>,
    _: SameOrigin,
    CurrentUser(user): CurrentUser,
    language: RequestLanguage,
    Path(raw_id): Path<String>,
    posted: CheckedForm,
) -> Result<Response, PortalError> {
    let guild_id = guild_id(&raw_id)?;
    let page = Page {
        user: &user,
        language: &language,
        form_token: &posted.token,
    };
    let form = SettingsForm::posted(&posted.fields);
    let redisplay = |form, errors, notice, status| Redisplay {
        form,
        errors,
        notice,
        status,
    };
    let (change, version) = match form.parse() {
        Ok(parsed) => parsed,
        Err(errors) => {
            let r = redisplay(form, errors, None, StatusCode::UNPROCESSABLE_ENTITY);
            return guild_page(&app, page, guild_id, Some(r), false).await;
        }
    };
    match guild_admin::save_settings(&app, &user, guild_id, change, version).await {
        Ok(_) => Ok(Redirect::to(&format!("/discord/guilds/{guild_id}?saved=1")).into_response()),
        Err(PortalError::Validation(errors)) => {
            let r = redisplay(form, errors, None, StatusCode::UNPROCESSABLE_ENTITY);
            guild_page(&app, page, guild_id, Some(r), false).await
        }
        Err(PortalError::SettingsChanged) => {
            // Their form, kept; the version of what is stored now, so that
            // saving again is a choice made knowing someone else saved.
            let current = app.store.guild_preferences(guild_id.get()).await?;
            let lang = language.resolve();
            let notice = i18n::Message::new("settings-changed-notice")
                .arg(
                    "language",
                    i18n::text(lang, &format!("settings-language-{}", current.language)),
                )
                .arg(
                    "welcome",
                    i18n::text(
                        lang,
                        if current.welcome_enabled {
                            "settings-welcome-on"
                        } else {
                            "settings-welcome-off"
                        },
                    ),
                )
                .arg("message", current.welcome_message)
                .text(lang);
            let mut form = form;
            form.version = current.version.to_string();
            let r = redisplay(form, Vec::new(), Some(notice), StatusCode::CONFLICT);
            guild_page(&app, page, guild_id, Some(r), false).await
        }
        Err(other) => Err(other),
    }
}

#[derive(Serialize, Default)]
struct TagForm {
    name: String,
    content: String,
}

#[derive(Serialize)]
struct TagView {
    name: String,
    /// The name as a path segment or query value.
    encoded: String,
    content: String,
    updated: String,
}

struct TagsRedisplay {
    form: TagForm,
    errors: Vec<FieldError>,
    notice: Option<String>,
    status: StatusCode,
}

/// `GET /discord/guilds/{guild_id}/tags[?edit=name]`.
pub async fn tags_page(
    State(app): State<AppState>,
    CurrentUser(user): CurrentUser,
    language: RequestLanguage,
    form_token: FormToken,
    Path(raw_id): Path<String>,
    RawQuery(query): RawQuery,
) -> Result<Response, PortalError> {
    let guild_id = guild_id(&raw_id)?;
    let query = query.as_deref();
    let flash = (query_param(query, "saved"), query_param(query, "deleted"));
    let edit = query_param(query, "edit");
    let page = Page {
        user: &user,
        language: &language,
        form_token: &form_token,
    };
    render_tags(&app, page, guild_id, None, flash, edit).await
}

async fn render_tags(
    app: &AppState,
    Page {
        user,
        language,
        form_token,
    }: Page<'_>,
    guild_id: GuildId,
    redisplay: Option<TagsRedisplay>,
    (saved, deleted): (Option<String>, Option<String>),
    edit: Option<String>,
) -> Result<Response, PortalError> {
    let lang = language.resolve();
    let guild = guild_admin::managed_guild(app, user, guild_id, Access::Read).await?;
    let tags = guild_admin::tags(app, guild_id).await?;
    let (form, errors, notice, status) = match redisplay {
        Some(r) => (r.form, by_field(&r.errors, lang), r.notice, r.status),
        None => {
            let form = edit
                .and_then(|name| tags.iter().find(|t| t.name == name))
                .map(|t| TagForm {
                    name: t.name.clone(),
                    content: t.content.clone(),
                })
                .unwrap_or_default();
            (form, HashMap::new(), None, StatusCode::OK)
        }
    };
    let views: Vec<TagView> = tags
        .iter()
        .map(|t| TagView {
            name: t.name.clone(),
            encoded: url::form_urlencoded::byte_serialize(t.name.as_bytes()).collect(),
            content: t.content.clone(),
            updated: when(t.updated_at, lang),
        })
        .collect();
    let html = render(
        app,
        "guild_tags.html",
        language,
        minijinja::context! {
            user => HeaderUser::from_user(user, &app.config.discord.cdn_url),
            guild => GuildHeader::new(&guild, lang),
            tags => views,
            max_tags => TAGS_PER_GUILD_MAX,
            form,
            errors,
            notice,
            saved,
            deleted,
            csrf_token => form_token.as_str(),
        },
    )?;
    Ok((status, html).into_response())
}

/// `POST /discord/guilds/{guild_id}/tags`: creates or replaces a tag.
pub async fn save_tag(
    State(app): State<AppState>,
    _: SameOrigin,
    CurrentUser(user): CurrentUser,
    language: RequestLanguage,
    Path(raw_id): Path<String>,
    posted: CheckedForm,
) -> Result<Response, PortalError> {
    let guild_id = guild_id(&raw_id)?;
    let page = Page {
        user: &user,
        language: &language,
        form_token: &posted.token,
    };
    let form = TagForm {
        name: posted.field("name"),
        content: posted.field("content"),
    };
    let name = TagName::parse(&form.name).map_err(|e| e.at(&["body", "name"]));
    let content = TagContent::parse(&form.content).map_err(|e| e.at(&["body", "content"]));
    let again = |form, errors, notice, status| TagsRedisplay {
        form,
        errors,
        notice,
        status,
    };
    let (name, content) = match (name, content) {
        (Ok(name), Ok(content)) => (name, content),
        (name, content) => {
            let errors = [name.err(), content.err()].into_iter().flatten().collect();
            let r = again(form, errors, None, StatusCode::UNPROCESSABLE_ENTITY);
            return render_tags(&app, page, guild_id, Some(r), (None, None), None).await;
        }
    };
    match guild_admin::save_tag(&app, &user, guild_id, &name, &content).await {
        Ok(_) => {
            let name: String =
                url::form_urlencoded::byte_serialize(name.as_str().as_bytes()).collect();
            Ok(
                Redirect::to(&format!("/discord/guilds/{guild_id}/tags?saved={name}"))
                    .into_response(),
            )
        }
        Err(e @ PortalError::TagLimitReached) => {
            let notice = e.page().message(language.resolve());
            let r = again(form, Vec::new(), Some(notice), StatusCode::CONFLICT);
            render_tags(&app, page, guild_id, Some(r), (None, None), None).await
        }
        Err(other) => Err(other),
    }
}

/// `POST /discord/guilds/{guild_id}/tags/{name}/delete`.
pub async fn delete_tag(
    State(app): State<AppState>,
    _: SameOrigin,
    CurrentUser(user): CurrentUser,
    Path((raw_id, name)): Path<(String, String)>,
    _: CheckedForm,
) -> Result<Response, PortalError> {
    let guild_id = guild_id(&raw_id)?;
    // No tag can have an invalid name.
    let name = TagName::parse(&name).map_err(|_| PortalError::NotFound)?;
    guild_admin::delete_tag(&app, &user, guild_id, &name).await?;
    let name: String = url::form_urlencoded::byte_serialize(name.as_str().as_bytes()).collect();
    Ok(Redirect::to(&format!("/discord/guilds/{guild_id}/tags?deleted={name}")).into_response())
}

#[derive(Serialize)]
struct AuditView {
    action: &'static str,
    /// Catalogue key of what happened.
    label: &'static str,
    subject: String,
    /// Epoch seconds (the template writes them in the page's language).
    at: i64,
    iso: String,
    who: String,
    discord_id: String,
    before: Option<String>,
    after: Option<String>,
}

impl AuditView {
    fn new(e: &AuditEntry) -> Self {
        AuditView {
            action: e.action.as_str(),
            label: match e.action {
                AuditAction::SettingsUpdate => "audit-settings-update",
                AuditAction::TagCreate => "audit-tag-create",
                AuditAction::TagUpdate => "audit-tag-update",
                AuditAction::TagDelete => "audit-tag-delete",
            },
            subject: e.subject.clone(),
            at: e.at,
            iso: iso(e.at),
            who: e.discord_username.clone(),
            discord_id: e.discord_user_id.to_string(),
            before: e.before.as_deref().map(readable),
            after: e.after.as_deref().map(readable),
        }
    }
}

/// A stored JSON value as people read it: a string without its quotes,
/// anything else pretty-printed.
fn readable(json: &str) -> String {
    match serde_json::from_str::<serde_json::Value>(json) {
        Ok(serde_json::Value::String(s)) => s,
        Ok(v) => serde_json::to_string_pretty(&v).unwrap_or_else(|_| json.to_owned()),
        Err(_) => json.to_owned(),
    }
}

/// `GET /discord/guilds/{guild_id}/audit[?before=id]`.
pub async fn audit_page(
    State(app): State<AppState>,
    CurrentUser(user): CurrentUser,
    language: RequestLanguage,
    Path(raw_id): Path<String>,
    RawQuery(query): RawQuery,
) -> Result<Response, PortalError> {
    let guild_id = guild_id(&raw_id)?;
    // A damaged link starts again from the newest.
    let before = audit_query(query.as_deref().unwrap_or_default())
        .map(|(_, before)| before)
        .unwrap_or(None);
    let guild = guild_admin::managed_guild(&app, &user, guild_id, Access::Read).await?;
    let entries = app
        .store
        .guild_audit(guild_id.get(), AUDIT_PAGE, before)
        .await?;
    let older = (entries.len() == AUDIT_PAGE as usize)
        .then(|| entries.last().map(|e| e.id))
        .flatten();
    let views: Vec<AuditView> = entries.iter().map(AuditView::new).collect();
    let html = render(
        &app,
        "guild_audit.html",
        &language,
        minijinja::context! {
            user => HeaderUser::from_user(&user, &app.config.discord.cdn_url),
            guild => GuildHeader::new(&guild, language.resolve()),
            entries => views,
            older,
        },
    )?;
    Ok(html.into_response())
}
