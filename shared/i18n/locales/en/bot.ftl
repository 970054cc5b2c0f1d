## The bot: slash commands as Discord lists them, replies and DMs
# The command's name as registered; Korean clients see the Korean one.
command-dashboard-name = dashboard
command-dashboard-description = Get a link to the Guildhall dashboard for this server.

bot-dm-title = Your Guildhall dashboard
bot-dm-description = Sign in with Discord to see your servers and what you can manage there.
bot-dm-button = Open the dashboard
bot-reply-dm-sent = Check your DMs: I sent you a link to the dashboard.
bot-reply-dm-closed =
    I couldn't DM you (your DMs are closed), so here is your link — it's only visible to you:
    { $link }
bot-reply-failed = Sorry, something went wrong sending your link. Please try again in a moment.
bot-error-generic = Sorry, something went wrong. Please try again in a moment.

command-tag-name = tag
command-tag-description = Answer with one of this server's tags.
# The option `name` of /tag.
command-tag-option-name = name
command-tag-option-name-description = The tag's name
bot-tag-unknown = This server has no tag named `{ $name }`.
bot-tags-only-in-servers = Tags belong to a server: use /tag in one.
