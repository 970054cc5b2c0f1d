## Error pages: a title and a message per kind of error, and the page around them
error-code-label = Error code:
error-back-to-sign-in = Back to sign in
error-back-to-servers = Back to your servers

error-unauthorized-title = Please sign in
error-unauthorized-message = Sign in with Discord to continue.
error-reauth-title = Please sign in again
error-reauth-message = Your Discord authorization has expired or was revoked. Sign in again to continue.
error-oauth-denied-title = Login cancelled
error-oauth-denied-message = You did not authorize Guildhall on Discord, so you are not signed in. You can try again whenever you like.
error-incomplete-login-title = Incomplete login
error-incomplete-login-message = Discord's answer was missing part of the login. Please start again.
error-invalid-state-title = Login link not valid
error-invalid-state-message = This login link is invalid or was already used. Please start the login again from this browser.
error-state-expired-title = Login link expired
error-state-expired-message = This login took too long and the link expired. Please start again.
error-no-verified-email-title = Verified email needed
error-no-verified-email-message = Your Discord account has no verified email address. Verify your email in Discord's settings, then sign in again.
error-user-exists-title = Account already exists
error-user-exists-message = An account with your email address already exists, and this Discord login cannot be linked to it automatically: Guildhall links only to an account whose email address has been verified, if at all. Verify the address on that account, or contact the administrator.
error-pkce-title = Login started elsewhere
error-pkce-message = This login was not started in this browser (or the browser lost its cookies), so Guildhall did not finish it and nobody was signed in. Please start the login again from this browser.
error-inactive-title = Account disabled
error-inactive-message = Your account is disabled. Contact the administrator.
error-cross-origin-title = Request from another site refused
error-cross-origin-message = This request came from another site, so Guildhall refused it and nothing changed. To sign out, use the Log out button on Guildhall's own pages.
error-code-rejected-title = Login failed
error-code-rejected-message = Discord did not accept the login. Please start again.
error-rate-limited-title = Discord is busy
error-rate-limited-message = Discord asked us to slow down. Please try again in { $seconds ->
        [one] { $seconds } second
       *[other] { $seconds } seconds
    }.
error-discord-unavailable-title = Discord is unavailable
error-discord-unavailable-message = We could not reach Discord to load your servers. Please try again in a moment.
error-refresh-pending-title = Still renewing your Discord sign-in
error-refresh-pending-message = Your Discord authorization is being renewed and that is taking longer than usual. Please reload the page in a moment.
error-not-found-title = Not found
error-not-found-message = There is nothing here — or you are not a member of that server.
error-internal-title = Something went wrong
error-internal-message = An internal error occurred. It has been logged; please try again.
error-form-token-title = Form expired
error-form-token-message = This form was not sent from your current Guildhall session (it may be from before you signed in again), so nothing changed. Reload the page and try again.
error-guild-forbidden-title = You cannot manage this server
error-guild-forbidden-message = Managing this server's settings needs Owner, Administrator or Manage Server in Discord. If you were just given one of them, wait a moment and reload.
error-bot-not-present-title = The bot is not in this server
error-bot-not-present-message = The bot is not in this server, so there is nothing to set up yet. Invite it from the server's page first.
error-settings-changed-title = Someone else saved first
error-settings-changed-message = Someone else changed these settings while you were editing. Reload the page to see their changes, then make yours again.
error-tag-limit-title = Too many tags
error-tag-limit-message = A server can have at most 200 tags. Delete one you no longer need to make room.
error-validation-title = Some fields are not valid
error-validation-message = Some of what was sent is not valid, so nothing changed.
error-too-many-logins-title = Too many sign-in attempts
error-too-many-logins-message = Too many sign-in attempts came from your network. Please try again in { $seconds ->
        [one] { $seconds } second
       *[other] { $seconds } seconds
    }.
error-metrics-unauthorized-title = Token required
error-metrics-unauthorized-message = The metrics need the operator's bearer token.
error-too-large-title = Request too large
error-too-large-message = The request was larger than Guildhall accepts, so nothing was done.
error-timeout-title = This is taking too long
error-timeout-message = Guildhall could not answer in time (Discord may be slow). Please try again in a moment.
error-database-unavailable-title = Briefly unavailable
error-database-unavailable-message = Guildhall is briefly unavailable: its database is not answering. Please try again in { $seconds ->
        [one] { $seconds } second
       *[other] { $seconds } seconds
    }.
error-try-again = Try again
