//! Gateway events for what the portal lets managers set: channels recorded
//! for the welcome-channel picker, guild names and member counts kept for
//! welcome messages, and the welcome post itself on GUILD_MEMBER_ADD.

use std::sync::Arc;

use serenity::all::{
    Context, EventHandler, Guild, GuildChannel, GuildId, Member, UnavailableGuild, User,
};
use store::Store;

use crate::channel_writer::{ChannelChange, ChannelWriter};
use crate::guild_facts::{GuildFacts, Guilds};
use crate::guild_settings::SettingsCache;
use crate::{presence, welcome};

pub struct GuildEvents {
    pub store: Store,
    pub channels: ChannelWriter,
    pub guilds: Arc<Guilds>,
    pub settings: Arc<SettingsCache>,
}

fn recorded(channel: &GuildChannel) -> store::GuildChannel {
    store::GuildChannel {
        id: channel.id.get(),
        name: channel.name.clone(),
        position: i32::from(channel.position),
        kind: u8::from(channel.kind),
    }
}

#[serenity::async_trait]
impl EventHandler for GuildEvents {
    async fn guild_create(&self, _ctx: Context, guild: Guild, _is_new: Option<bool>) {
        let id = guild.id.get();
        self.guilds.joined(
            id,
            GuildFacts {
                name: guild.name.clone(),
                member_count: guild.member_count,
            },
        );
        let channels = guild.channels.values().map(recorded).collect();
        self.channels.send(ChannelChange::Replace {
            guild: id,
            channels,
        });
    }

    async fn guild_delete(
        &self,
        _ctx: Context,
        incomplete: UnavailableGuild,
        _full: Option<Guild>,
    ) {
        if presence::delete_means_left(incomplete.unavailable) {
            let id = incomplete.id.get();
            self.guilds.left(id);
            self.channels.send(ChannelChange::Replace {
                guild: id,
                channels: Vec::new(),
            });
        }
    }

    async fn channel_create(&self, _ctx: Context, channel: GuildChannel) {
        self.channels.send(ChannelChange::Upsert {
            guild: channel.guild_id.get(),
            channel: recorded(&channel),
        });
    }

    async fn channel_update(&self, _ctx: Context, _old: Option<GuildChannel>, new: GuildChannel) {
        self.channels.send(ChannelChange::Upsert {
            guild: new.guild_id.get(),
            channel: recorded(&new),
        });
    }

    async fn channel_delete(
        &self,
        _ctx: Context,
        channel: GuildChannel,
        _messages: Option<Vec<serenity::all::Message>>,
    ) {
        self.channels.send(ChannelChange::Remove {
            guild: channel.guild_id.get(),
            channel: channel.id.get(),
        });
    }

    async fn guild_member_addition(&self, ctx: Context, member: Member) {
        let guild = member.guild_id.get();
        let user = member.user.id.get();
        let Some(facts) = self.guilds.member_joined(guild) else {
            // Never happens after GUILD_CREATE; without the name there is
            // nothing sensible to fill in.
            tracing::warn!(guild, "member joined a guild the bot has not seen");
            return;
        };
        let settings = match self.settings.get(guild).await {
            Ok(s) => s,
            Err(e) => {
                tracing::error!(guild, error = %e, "no welcome message: settings unavailable");
                return;
            }
        };
        if let Some((channel, text)) = welcome::message_for(&settings.preferences, user, &facts) {
            welcome::post(&ctx.http, &self.store, guild, channel, user, text).await;
        }
    }

    async fn guild_member_removal(
        &self,
        _ctx: Context,
        guild_id: GuildId,
        _user: User,
        _member: Option<Member>,
    ) {
        self.guilds.member_left(guild_id.get());
    }
}
