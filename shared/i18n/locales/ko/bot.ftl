## 봇: 디스코드 명령어 목록에 나오는 이름과 설명, 답장과 DM
# 디스코드 명령어 이름 규칙: 소문자, 공백 없이 32자 이내.
command-dashboard-name = 대시보드
command-dashboard-description = 이 서버의 Guildhall 대시보드 링크를 받아요.

bot-dm-title = 나의 Guildhall 대시보드
bot-dm-description = 디스코드로 로그인하면 내 서버와 그곳에서 관리할 수 있는 것들을 볼 수 있어요.
bot-dm-button = 대시보드 열기
bot-reply-dm-sent = DM을 확인해 주세요. 대시보드 링크를 보내 드렸어요.
bot-reply-dm-closed =
    DM이 닫혀 있어서 보내 드리지 못했어요. 대신 여기에 링크를 드릴게요. 이 메시지는 나만 볼 수 있어요.
    { $link }
bot-reply-failed = 죄송해요. 링크를 보내다가 문제가 생겼어요. 잠시 뒤에 다시 시도해 주세요.
bot-error-generic = 죄송해요. 문제가 생겼어요. 잠시 뒤에 다시 시도해 주세요.

command-tag-name = 태그
command-tag-description = 이 서버의 태그로 답해요.
# /태그 명령어의 `name` 옵션.
command-tag-option-name = 이름
command-tag-option-name-description = 태그 이름
bot-tag-unknown = 이 서버에는 `{ $name }` 태그가 없어요.
bot-tags-only-in-servers = 태그는 서버마다 따로 있어요. 서버 안에서 /태그를 써 주세요.
