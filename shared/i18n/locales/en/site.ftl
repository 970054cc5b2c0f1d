# What every page shows: header, footer, banner, language switch.
skip-to-content = Skip to content
demo-banner = Demo — signed in against a local stand-in for Discord
avatar-alt = Avatar of { $name }
log-out = Log out
log-out-everywhere = Log out everywhere
log-out-everywhere-hint = Ends your Guildhall sessions on every device and browser, this one included.
footer-tagline = Guildhall — your Discord servers, in one place.
language-switch-label = Language
# Each language's name in itself: the same in both catalogues.
language-name-en = English
language-name-ko = 한국어
