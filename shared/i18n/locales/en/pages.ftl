## The sign-in page
sign-in-title = Sign in
sign-in-heading = Your Discord servers, in one place
sign-in-lead = Sign in with Discord to see the servers you belong to, where you can manage them, and where the bot is already at work.
sign-in-reauth-notice = Your Discord authorization expired or was revoked. Please sign in again.
sign-in-to-servers = Go to your servers
sign-in-button = Login with Discord
sign-in-privacy = Guildhall asks Discord for your name, avatar, verified email and server list. It never sees your password.

## The guild overview
guilds-title = Your servers
guilds-stale = Discord is not answering right now: this list may be out of date.
guilds-empty = You are not in any servers yet.
guild-icon-alt = { $name } icon
badge-owner = Owner
badge-bot-present = Bot present
guild-manage = Manage
guild-invite-bot = Invite bot

## One guild
guild-back = ← All servers
guild-stale = Discord is not answering right now: this may be out of date.
guild-bot = Bot
guild-bot-present = Present in this server
guild-bot-absent = Not in this server
guild-can-manage = You can manage it
guild-can-manage-yes = Yes
guild-can-manage-no = No — you need Manage Server or Administrator
guild-permissions = Your permissions
guild-permissions-none = None
guild-manage-in-discord = Manage in Discord
