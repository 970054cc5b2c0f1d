# 모든 페이지에 공통으로 나오는 머리글, 바닥글, 배너, 언어 전환.
skip-to-content = 본문으로 건너뛰기
demo-banner = 데모 — 실제 디스코드 대신 이 컴퓨터에서 돌아가는 대역 서버로 로그인했어요
avatar-alt = { $name } 님의 프로필 사진
log-out = 로그아웃
log-out-everywhere = 모든 기기에서 로그아웃
log-out-everywhere-hint = 지금 쓰고 있는 브라우저를 포함해 모든 기기와 브라우저에서 Guildhall 세션을 끝내요.
footer-tagline = Guildhall — 내 디스코드 서버를 한곳에서.
language-switch-label = 언어
# 각 언어의 이름은 그 언어로 적어요. 두 카탈로그에서 같아요.
language-name-en = English
language-name-ko = 한국어
