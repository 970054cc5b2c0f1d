## Managing a server: the tabs, the settings form, tags, the audit log
manage-nav-label = Manage this server
manage-tab-settings = Settings
manage-tab-tags = Tags
manage-tab-audit = Audit log
guild-permissions-count = { $count ->
        [one] { $count } permission
       *[other] { $count } permissions
    }

settings-saved = Settings saved. The bot uses them within a few seconds.
settings-intent-unavailable = Welcome messages are unavailable: enable the Server Members Intent in the Developer Portal (Bot → Privileged Gateway Intents) and restart the bot.
settings-intent-unknown = The bot has not reported yet whether it can see members join; welcome messages need the Server Members Intent.
settings-welcome-failure = The last welcome message could not be posted in { $channel } on { $at }: { $message } (Discord error { $code }).
settings-welcome-failure-50013 = Give the bot the Send Messages permission in that channel.
settings-welcome-failure-10003 = The channel no longer exists: choose another.
settings-channel-fallback = channel { $id }
settings-language-label = Language of the bot in this server
settings-language-auto = Automatic (each member's Discord language)
settings-language-en = English
settings-language-ko = 한국어 (Korean)
settings-welcome-legend = Welcome message
settings-welcome-enabled = Post a message when someone joins
settings-welcome-on = on
settings-welcome-off = off
settings-channel-label = Channel
settings-channel-choose = — choose a channel —
settings-channel-deleted-option = Deleted channel ({ $id })
settings-channel-deleted = The saved channel no longer exists (or the bot cannot see it): choose another one.
settings-no-channels = The bot has not reported this server's channels yet.
settings-message-label = Message
settings-placeholders = Placeholders:
settings-placeholder-user = mentions the new member
settings-placeholder-server = the server's name
settings-placeholder-member-count = the number of members
settings-message-limit = At most { $max } characters.
settings-save = Save settings
settings-changed-notice = Someone else saved these settings while you were editing, so yours were not saved. Saved now: language { $language }, welcome messages { $welcome }, message “{ $message }”. Your version is below: save again to replace theirs, or reload to start from theirs.

tags-lead = Members type { $command } in Discord and the bot answers with the text. Mentions in a tag never ping anyone.
tags-saved = Tag { $name } saved.
tags-deleted = Tag { $name } deleted.
tags-name-label = Name
tags-name-hint = 1–32 characters: lower-case letters (any script), digits, - and _. Saving an existing name replaces its text.
tags-content-label = Text
tags-save = Save tag
tags-count = { $count } of { $max } tags
tags-updated = Updated { $at }
tags-edit = Edit
tags-delete = Delete
tags-delete-label = Delete tag { $name }
tags-empty = No tags yet.

audit-lead = Every change to this server's settings and tags, newest first. Kept 90 days.
audit-settings-update = Settings changed:
audit-tag-create = Tag created:
audit-tag-update = Tag changed:
audit-tag-delete = Tag deleted:
audit-by = by { $name }
audit-before = Before
audit-after = After
audit-empty = Nothing has been changed yet.
audit-older = Older changes

## Form fields a person got wrong
form-damaged = The form is damaged: reload the page
field-too-short = Must have at least { $min ->
        [one] { $min } character
       *[other] { $min } characters
    }
field-too-long = Must have at most { $max } characters (this has { $len })
field-tag-name-upper = Use lower-case letters only ({ $char } is upper case)
field-tag-name-char = Use letters, digits, - and _ only ({ $char } is not allowed)
field-tag-content-blank = Must have some text, not only spaces
field-welcome-empty = Write the message to post, or turn welcome messages off
field-welcome-placeholder = Unknown placeholder { $placeholder }: use { $user }, { $server } or { $member_count }
field-language = Choose auto, en or ko
field-snowflake = Must be a channel id (a number, as a string)
field-channel-missing = Choose the channel to post in, or turn welcome messages off
field-channel-not-text = Not a text channel of this server (it may have been deleted)

# Offered to a server that never saved its settings ({ $user } and
# { $server } are the placeholders themselves).
settings-welcome-default = Welcome to { $server }, { $user }!
