## 로그인 페이지
sign-in-title = 로그인
sign-in-heading = 내 디스코드 서버를 한곳에서
sign-in-lead = 디스코드로 로그인하면 내가 속한 서버와 그중 관리할 수 있는 서버, 봇이 이미 일하고 있는 서버를 한눈에 볼 수 있어요.
sign-in-reauth-notice = 디스코드 인증이 만료되었거나 취소되었어요. 다시 로그인해 주세요.
sign-in-to-servers = 내 서버로 가기
sign-in-button = 디스코드로 로그인
sign-in-privacy = Guildhall은 디스코드에서 이름, 프로필 사진, 인증된 이메일, 서버 목록만 받아요. 비밀번호는 절대 볼 수 없어요.

## 서버 목록
guilds-title = 내 서버
guilds-stale = 지금 디스코드가 응답하지 않아요. 이 목록은 최신이 아닐 수 있어요.
guilds-empty = 아직 참여한 서버가 없어요.
guild-icon-alt = { $name } 아이콘
badge-owner = 소유자
badge-bot-present = 봇 있음
guild-manage = 관리하기
guild-invite-bot = 봇 초대하기

## 서버 한 곳
guild-back = ← 모든 서버
guild-stale = 지금 디스코드가 응답하지 않아요. 최신 정보가 아닐 수 있어요.
guild-bot = 봇
guild-bot-present = 이 서버에 있어요
guild-bot-absent = 이 서버에 없어요
guild-can-manage = 관리 권한
guild-can-manage-yes = 있어요
guild-can-manage-no = 없어요 — 서버 관리하기 또는 관리자 권한이 필요해요
guild-permissions = 내 권한
guild-permissions-none = 없음
guild-manage-in-discord = 디스코드에서 관리하기
