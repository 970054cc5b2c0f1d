## 서버 관리: 탭, 설정 양식, 태그, 감사 로그
manage-nav-label = 이 서버 관리
manage-tab-settings = 설정
manage-tab-tags = 태그
manage-tab-audit = 감사 로그
guild-permissions-count = 권한 { $count }개

settings-saved = 설정을 저장했어요. 봇이 몇 초 안에 새 설정을 쓰기 시작해요.
settings-intent-unavailable = 환영 메시지를 쓸 수 없어요. 디스코드 개발자 포털(Bot → Privileged Gateway Intents)에서 Server Members Intent를 켜고 봇을 다시 시작해 주세요.
settings-intent-unknown = 봇이 멤버가 들어오는 것을 볼 수 있는지 아직 알려 주지 않았어요. 환영 메시지를 쓰려면 Server Members Intent가 필요해요.
settings-welcome-failure = 마지막 환영 메시지를 { $at }에 { $channel } 채널에 올리지 못했어요: { $message } (디스코드 오류 { $code })
settings-welcome-failure-50013 = 그 채널에서 봇에게 메시지 보내기 권한을 주세요.
settings-welcome-failure-10003 = 그 채널은 더 이상 없어요. 다른 채널을 골라 주세요.
settings-channel-fallback = 채널 { $id }
settings-language-label = 이 서버에서 봇이 쓸 언어
settings-language-auto = 자동 (멤버마다 각자의 디스코드 언어)
settings-language-en = 영어 (English)
settings-language-ko = 한국어
settings-welcome-legend = 환영 메시지
settings-welcome-enabled = 누군가 서버에 들어오면 메시지 올리기
settings-welcome-on = 켜짐
settings-welcome-off = 꺼짐
settings-channel-label = 채널
settings-channel-choose = — 채널을 고르세요 —
settings-channel-deleted-option = 삭제된 채널 ({ $id })
settings-channel-deleted = 저장된 채널이 없어졌거나 봇이 볼 수 없어요. 다른 채널을 골라 주세요.
settings-no-channels = 봇이 아직 이 서버의 채널 목록을 알려 주지 않았어요.
settings-message-label = 메시지
settings-placeholders = 쓸 수 있는 자리 표시자:
settings-placeholder-user = 새 멤버를 멘션해요
settings-placeholder-server = 서버 이름
settings-placeholder-member-count = 멤버 수
settings-message-limit = 최대 { $max }자까지 쓸 수 있어요.
settings-save = 설정 저장
settings-changed-notice = 편집하는 동안 다른 사람이 먼저 설정을 저장해서 내 변경 사항은 저장되지 않았어요. 지금 저장된 설정: 언어 { $language }, 환영 메시지 { $welcome }, 메시지 “{ $message }”. 아래에 내가 입력한 내용이 그대로 있어요. 다시 저장하면 다른 사람의 설정을 덮어쓰고, 새로고침하면 다른 사람의 설정에서 다시 시작해요.

tags-lead = 디스코드에서 { $command } 명령어를 입력하면 봇이 태그 내용으로 답해요. 태그 안의 멘션은 아무에게도 알림을 보내지 않아요.
tags-saved = 태그를 저장했어요: { $name }
tags-deleted = 태그를 삭제했어요: { $name }
tags-name-label = 이름
tags-name-hint = 1–32자: 소문자(한글 등 어떤 문자든), 숫자, -, _를 쓸 수 있어요. 이미 있는 이름으로 저장하면 내용을 바꿔요.
tags-content-label = 내용
tags-save = 태그 저장
tags-count = 태그 { $count }개 / 최대 { $max }개
tags-updated = 수정: { $at }
tags-edit = 수정
tags-delete = 삭제
tags-delete-label = 태그 삭제: { $name }
tags-empty = 아직 태그가 없어요.

audit-lead = 이 서버의 설정과 태그가 바뀐 기록을 최신순으로 보여 줘요. 기록은 90일 동안 보관해요.
audit-settings-update = 설정 변경:
audit-tag-create = 태그 생성:
audit-tag-update = 태그 수정:
audit-tag-delete = 태그 삭제:
audit-by = { $name } 님
audit-before = 변경 전
audit-after = 변경 후
audit-empty = 아직 바뀐 내용이 없어요.
audit-older = 이전 기록 보기

## 사람이 잘못 입력한 양식 항목
form-damaged = 양식이 손상되었어요. 페이지를 새로고침해 주세요
field-too-short = 최소 { $min }자 이상 입력해 주세요
field-too-long = 최대 { $max }자까지 쓸 수 있어요 (지금 { $len }자)
field-tag-name-upper = 소문자만 쓸 수 있어요 (대문자: { $char })
field-tag-name-char = 글자, 숫자, -, _만 쓸 수 있어요 (쓸 수 없는 문자: { $char })
field-tag-content-blank = 공백 말고 내용을 입력해 주세요
field-welcome-empty = 올릴 메시지를 쓰거나 환영 메시지를 꺼 주세요
field-welcome-placeholder = 알 수 없는 자리 표시자예요: { $placeholder }. { $user }, { $server }, { $member_count } 중 하나를 써 주세요
field-language = auto, en, ko 중 하나를 골라 주세요
field-snowflake = 채널 ID(숫자)여야 해요
field-channel-missing = 메시지를 올릴 채널을 고르거나 환영 메시지를 꺼 주세요
field-channel-not-text = 이 서버의 텍스트 채널이 아니에요 (삭제되었을 수 있어요)

# 설정을 한 번도 저장하지 않은 서버에 제안하는 기본 환영 메시지
# ({ $user }, { $server }는 자리 표시자 그대로예요).
settings-welcome-default = { $user } 님, { $server }에 오신 것을 환영해요!
