"""The default vocabularies of the intent classifier: signal -> language -> terms.

A term is lower case. Latin and Cyrillic terms match at the start of a word and may be stems
("vulnerab" matches vulnerable, vulnerability, vulnerabilidad), unless they end in "$": those
match whole words only ("add$" is not "address"); a space inside a term matches spaces,
hyphens or slashes ("sql injection" matches "SQL-Injection", "go no go" "go/no-go"). Chinese,
Japanese and Korean terms match anywhere (those scripts have no spaces between words).
Accents are part of a term: where users often leave them out, both spellings are listed, or
the stem stops before the accent. `[intent]` in the config adds and removes terms (see config.toml).

Signals (what each means for the decision: router/decide/judge.py):
  security   a weakness class or security topic (XSS, SSRF, hard-coded secrets, CVE, ...)
  attack     attacker framing: exploit, bypass, forge, leak, escalate, "can someone"
  ask        asking to find or assess: check, find, scan, assess, harden, "is this", "any"
  review     a code review is asked
  precision  the review must be exact: final pass, before merge, line by line, rigorous
  writing    asking to write code: implement, write, add, create, fix, refactor
  definition asking what something is: what is, explain, how does ... work
  prose      the text under review is prose: typos, grammar, wording
  safety     "is it safe ...": counts as a security topic when the turn carries code
  debug      something fails and should work: "fails with", "figure out why", a traceback
  continuation a turn opening with "what about ...", "same problem ...": a follow-up
  role       (system prompts only) the model is made an auditor or a reviewer
  side_task  an agent's side task: a title, a summary, a commit message, a shell command
  policy     (system prompts) a rule for the model, not its role: never, do not, is allowed
  opener     (system prompts) a sentence that addresses the model: you are, act as, your task
"""

from __future__ import annotations

# fmt: off
Vocabulary = dict[str, dict[str, tuple[str, ...]]]

LANGUAGES = ("en", "de", "es", "fr", "pt", "ru", "ja", "zh", "ko")

SECURITY: dict[str, tuple[str, ...]] = {
    "en": (
        "security", "secure", "insecure", "audit", "vulnerab", "vuln", "exploit", "cve", "cwe",
        "owasp", "sql injection", "sqli", "nosql injection", "command injection",
        "shell injection", "os command", "code injection", "ldap injection", "template injection",
        "ssti", "header injection", "log injection", "xpath injection", "injection", "injectable",
        "xss", "cross site scripting", "csrf", "xsrf", "cross site request", "ssrf",
        "server side request", "idor", "insecure direct object", "access control",
        "authorization bypass", "privilege", "xxe", "xml external entit", "path traversal",
        "directory traversal", "traversal", "zip slip", "deserializ", "pickle", "race condition",
        "toctou", "time of check", "timing attack", "timing side", "side channel", "constant time",
        "hard coded secret", "hardcoded secret", "hard coded credential", "hardcoded credential",
        "hard coded password", "hardcoded password", "secrets", "api key", "leaked key",
        "credential", "crypto", "cipher", "ecb", "weak hash", "md5", "sha1", "static iv",
        "nonce reuse", "random number", "prng", "jwt", "alg none", "session fixation",
        "session hijack", "authentication", "auth bypass", "broken auth", "sandbox escape",
        "sandbox", "jailbreak", "redos", "catastrophic backtracking", "cors", "open redirect",
        "prototype pollution", "buffer overflow", "overflow", "use after free", "memory safety",
        "out of bounds", "format string", "integer overflow", "rce", "remote code execution",
        "arbitrary code", "arbitrary file", "threat model", "pentest", "penetration test",
        "attack surface", "malicious", "unsafe", "sanitiz", "escaping", "clickjacking",
        "mass assignment", "insecure default", "supply chain", "dos attack", "denial of service",
        "brute force", "rate limit bypass", "replay attack", "mitm", "man in the middle", "tls",
        "certificate validation", "secret", "leak", "race", "double spend", "concurrent requests",
        "authoriz", "permission", "encryption", "encrypt", "decrypt", "nonce", "aes", "hmac",
        "signature verif", "dangerous", "harden", "isolation", "memory saf", "flaw",
        "session management", "crafted", "untrusted", "hostile input", "user input",
        "injection risk", "csp", "content security policy", "security headers", "ssrf",
        "sensitive data", "pii", "risky", "hard coded", "hardcoded", "timing safe", "session id",
        "anything sensitive", "sensitive info", "shouldn't be committed",
        "should not be committed", "guessable", "predictable", "random enough", "insecure random",
        "password storage", "password hashing", "storing passwords",
    ),
    "de": (
        "sicherheit", "unsicher", "schwachstelle", "schwachstellen", "sicherheitslücke",
        "sicherheitsluecke", "lücke", "luecke", "angreifbar", "angriffsfläche", "verwundbar",
        "injektion", "einschleus", "geheimnis", "zugangsdaten", "passwörter", "kennwort",
        "verschlüsselung", "verschluesselung", "rechteausweitung", "zugriffskontrolle",
        "bedrohungsmodell", "penetrationstest", "ausnutzbar", "auditier", "audit",
    ),
    "es": (
        "seguridad", "segura", "seguro", "insegur", "vulnerab", "inyección", "inyeccion",
        "secretos", "credenciales", "contraseñas", "cifrado", "control de acceso",
        "escalada de privilegios", "modelo de amenazas", "prueba de penetración", "explotable",
        "fuga", "filtración", "audita", "auditar", "auditoría", "auditoria",
    ),
    "fr": (
        "sécurité", "securite", "sécuris", "securis", "vulnérab", "vulnerab", "faille", "failles",
        "injection", "secrets", "identifiants", "mots de passe", "chiffrement", "contrôle d'accès",
        "controle d'acces", "élévation de privilèges", "modèle de menace", "test d'intrusion",
        "exploitable", "fuite", "audite", "auditer",
    ),
    "pt": (
        "segurança", "seguranca", "segur", "insegur", "vulnerab", "vulnerável", "vulneravel",
        "injeção", "injecao", "falha de segurança", "brecha", "segred", "credenciais", "senhas",
        "criptografia", "controle de acesso", "escalonamento de privilégios", "modelo de ameaças",
        "teste de intrusão", "explorável", "exploravel", "vazamento", "auditar", "auditoria",
    ),
    "ru": (
        "безопасн", "уязвим", "инъекц", "иньекц", "дыр", "секрет", "пароль", "пароли",
        "переполнени", "гонк", "обход авторизации", "учётн", "учетн", "шифрован", "криптограф",
        "контроль доступа", "повышени привилег", "модель угроз", "пентест", "эксплуат", "утечк",
        "взлом", "xss", "csrf", "ssrf", "аудит",
    ),
    "ja": (
        "セキュリティ", "脆弱性", "脆弱", "インジェクション", "注入", "秘密", "認証", "暗号",
        "権限昇格", "アクセス制御", "脅威モデル", "ペネトレーション", "攻撃", "漏洩", "安全性",
        "ハードコード",
    ),
    "zh": (
        "安全", "漏洞", "注入", "脆弱", "密钥", "凭据", "凭证", "密码", "加密", "权限提升", "越权",
        "访问控制", "威胁模型", "渗透测试", "攻击", "泄露", "硬编码", "跨站",
    ),
    "ko": (
        "보안", "취약점", "취약", "인젝션", "주입", "비밀", "자격 증명", "비밀번호", "암호화",
        "권한 상승", "접근 제어", "위협 모델", "침투 테스트", "공격", "유출", "하드코딩",
    ),
}

ATTACK: dict[str, tuple[str, ...]] = {
    "en": (
        "exploit", "attacker", "attackers", "an attack", "bypass", "forge", "forged", "leak",
        "escalat", "hijack", "tamper", "impersonat", "steal", "break in", "can someone",
        "could someone", "can an attacker", "could an attacker", "can a user", "could a user",
        "malicious user", "abuse", "compromise", "get around", "sneak", "smuggl", "spoof",
        "take over", "crash it", "dump the", "read other", "access other", "someone else",
        "somebody else", "another user", "other users", "another customer", "other customers",
        "other people", "other tenants", "another tenant", "a regular user", "a normal user",
        "a logged in user", "a logged in customer", "an outsider", "outsider", "anyone can",
        "anyone could", "can anyone", "could anyone", "lets someone", "let someone", "lets anyone",
        "without logging in", "without being logged in", "unauthenticated", "unauthorized",
        "overdraw", "drain", "make themselves", "become admin", "fake a", "crafted", "abused",
        "weaponiz", "exfiltrat", "hack", "if someone", "someone sends", "someone could",
        "someone can", "somebody could", "trick", "get into", "get you into", "into admin",
        "pentest", "if a user sends", "if an attacker", "what if a user", "another app",
        "other apps", "could another", "can another", "skip the login", "skip auth",
        "skip the check", "skip the pin",
    ),
    "de": (
        "angreifer", "ausnutz", "umgeh", "fälsch", "faelsch", "kann jemand", "könnte jemand",
        "koennte jemand", "jemand anderes", "missbrauch", "fremde daten", "fremde rechnung",
        "fremde bestellung", "fremde konten", "anderer kunden", "anderer nutzer",
        "anderer benutzer", "ohne login", "ohne anmeldung", "zum admin", "ein nutzer kann",
        "ein benutzer kann", "ein nutzer könnte", "ein benutzer könnte", "nicht seine eigenen",
        "eine andere app",
    ),
    "es": (
        "atacante", "explotar", "eludir", "saltarse", "falsificar", "puede alguien",
        "alguien podría", "alguien podria", "alguien puede", "otro usuario", "otros usuarios",
        "otro cliente", "ajenos", "ajenas", "sin iniciar sesión", "abusar", "volverse admin",
        "un usuario podría", "un usuario podria", "un usuario puede", "no son suyos", "no es suyo",
        "otra app",
    ),
    "fr": (
        "attaquant", "exploiter", "contourner", "falsifier", "quelqu'un peut",
        "quelqu'un pourrait", "un autre utilisateur", "d'autres utilisateurs", "d'un autre",
        "sans être connecté", "abuser", "devenir admin", "un utilisateur peut",
        "un utilisateur pourrait", "qui ne sont pas les siens", "une autre app",
    ),
    "pt": (
        "atacante", "explorar", "contornar", "burlar", "falsificar", "alguém pode",
        "alguém consegue", "alguem pode", "outro usuário", "outros usuários", "usuário comum",
        "usuario comum", "virar admin", "sem login", "abusar", "um usuário pode",
        "um usuario pode", "um usuário poderia", "que não são dele", "outro app",
    ),
    "ru": (
        "атакующ", "злоумышленник", "обойти", "обход", "подделать", "кто-то может", "кто угодно",
        "чужие", "чужих", "чужой", "чужую", "другого пользователя", "других пользователей",
        "без авторизации", "стать админ", "пользователь может", "пользователь сможет",
        "другое приложение", "не свои",
    ),
    "ja": (
        "攻撃者", "悪用", "回避", "偽造", "なりすまし", "突破", "他人の", "他のユーザー", "誰でも",
        "第三者が",
    ),
    "zh": (
        "攻击者", "利用", "绕过", "伪造", "劫持", "提权", "别人的", "其他用户", "任何人都",
        "未登录",
    ),
    "ko": (
        "공격자", "악용", "우회", "위조", "탈취", "다른 사용자", "남의", "누구나",
    ),
}

ASK: dict[str, tuple[str, ...]] = {
    "en": (
        "check", "find", "look for", "look at", "scan", "assess", "assessment", "harden", "analy",
        "audit", "inspect", "identify", "detect", "spot", "evaluate", "is this", "is there",
        "are there", "does this", "do you see", "any ", "anything", "safe", "what could go wrong",
        "investigate", "hunt", "examine", "verify", "review", "go through", "look over", "flag",
        "point out", "search for", "is it", "is our", "is the", "is that", "are we", "are these",
        "am i", "do we", "could these", "could this", "can this", "worried", "concern",
        "correctly", "sound", "report$", "anything wrong", "what's wrong", "what is wrong",
        "holes",
    ),
    "de": (
        "prüf", "pruef", "überprüf", "ueberpruef", "finde", "such", "analysier", "untersuch",
        "bewert", "härt", "haert", "ist das", "ist dieser", "ist diese", "gibt es", "sicher?",
        "kontrollier", "schau", "auditier",
    ),
    "es": (
        "revisa", "revisar", "revisión", "comprueba", "comprobar", "busca", "buscar", "encuentra",
        "analiza", "analizar", "evalúa", "evalua", "audita", "hay ", "es seguro", "detecta",
        "verifica",
    ),
    "fr": (
        "vérifie", "verifie", "vérifier", "verifier", "trouve", "cherche", "analyse", "évalue",
        "evalue", "audite", "inspecte", "est-ce", "y a-t-il", "repère", "repere", "examine",
        "détecte",
    ),
    "pt": (
        "verifique", "verifica", "verificar", "encontre", "procure", "analise", "analisa",
        "avalie", "audite", "inspecione", "existe", "há ", "tem alguma", "é seguro", "detecte",
        "revise", "revisar",
    ),
    "ru": (
        "провер", "найди", "найти", "поищи", "проанализ", "анализ", "оцени", "аудит", "есть ли",
        "нет ли", "безопасно ли", "выяви", "посмотри",
    ),
    "ja": (
        "確認", "チェック", "探して", "見つけ", "分析", "診断", "評価", "監査", "調べ",
        "ありますか", "ないか", "大丈夫", "検出", "洗い出",
    ),
    "zh": (
        "检查", "查找", "找出", "分析", "评估", "审计", "审查", "有没有", "是否", "排查", "检测",
        "看看", "帮我看",
    ),
    "ko": (
        "확인", "검사", "찾아", "분석", "평가", "감사", "있나요", "있는지", "점검", "진단",
    ),
}

REVIEW: dict[str, tuple[str, ...]] = {
    "en": (
        "review", "code review", "audit", "look over", "go over", "go through", "inspect",
        "scrutin", "critique", "sign off", "check this pr", "check my pr", "go/no go", "go no go",
        "final pass", "final review", "line by line", "before merg", "before i merge",
        "before we merge",
    ),
    "de": (
        "review", "code-review", "durchsicht", "überprüf", "ueberpruef", "prüf", "begutacht",
    ),
    "es": (
        "revisión", "revision", "revisa", "revisar", "revisá",
    ),
    "fr": (
        "relis", "relecture", "revue", "révision", "vérifie", "verifie", "passe en revue",
    ),
    "pt": (
        "revisão", "revisao", "revise", "revisar", "revisa",
    ),
    "ru": (
        "ревью", "провер", "рецензи", "просмотри",
    ),
    "ja": (
        "レビュー", "確認", "チェック", "見直",
    ),
    "zh": (
        "审查", "代码审查", "审核", "评审", "检查", "review",
    ),
    "ko": (
        "리뷰", "검토", "코드 리뷰", "확인",
    ),
}

PRECISION: dict[str, tuple[str, ...]] = {
    "en": (
        "final pass", "final review", "final check", "final look", "last pass", "before merg",
        "before i merge", "before we merge", "before shipping", "before release",
        "before it ships", "before we ship", "line by line", "careful", "rigorous", "thorough",
        "meticulous", "in depth", "in-depth", "for correctness", "correctness", "go/no go",
        "go no go", "no-go", "sign off", "signoff", "production ready", "ship to production",
        "ships to production", "deep review", "exhaustive", "every line", "nitpick everything",
        "strict", "edge case", "pre merge", "pre-merge", "merge ready", "approve",
    ),
    "de": (
        "zeile für zeile", "zeile fuer zeile", "gründlich", "gruendlich", "sorgfältig",
        "sorgfaeltig", "vor dem merge", "vor dem mergen", "finale", "letzte prüfung",
        "korrektheit", "genau", "streng",
    ),
    "es": (
        "línea por línea", "linea por linea", "a fondo", "minucios", "riguros", "exhaustiv",
        "antes de fusionar", "antes del merge", "antes de hacer merge", "final", "correcci",
        "cuidadosa",
    ),
    "fr": (
        "ligne par ligne", "minutieu", "rigoureu", "approfondi", "avant de merger",
        "avant le merge", "avant la fusion", "finale", "exactitude", "exhausti", "attentive",
    ),
    "pt": (
        "linha por linha", "minucios", "rigoros", "detalhad", "antes do merge",
        "antes de fazer merge", "antes de mesclar", "final", "correção", "correcao", "cuidados",
    ),
    "ru": (
        "построчно", "строка за строкой", "тщательн", "скрупулёзн", "скрупулезн", "перед мерж",
        "перед слиянием", "финальн", "корректност", "строг", "детальн",
    ),
    "ja": (
        "一行ずつ", "1行ずつ", "厳密", "徹底", "マージ前", "最終", "正確性", "念入り", "細かく",
    ),
    "zh": (
        "逐行", "仔细", "严格", "彻底", "合并前", "最终", "正确性", "上线前", "细致",
    ),
    "ko": (
        "한 줄씩", "한줄씩", "꼼꼼", "엄격", "철저", "머지 전", "병합 전", "최종", "정확성",
    ),
}

WRITING: dict[str, tuple[str, ...]] = {
    "en": (
        "implement$", "write$", "create$", "add$", "build$", "generate$", "make$", "scaffold$",
        "set up$", "setup$", "refactor$", "convert$", "fix$", "migrate$", "port$", "rewrite$",
        "design$", "give me", "show me how to", "how do i", "how can i", "help me write",
        "code a$", "develop$", "update$", "rename$", "translate$", "turn these", "turn this",
        "format$", "reformat$", "summarize$", "summarise$", "draft$", "document$", "comment$",
        "put together", "turn$", "give$",
    ),
    "de": (
        "implementier", "schreib", "erstell", "füge", "fuege", "hinzufüg", "bau", "generier",
        "refaktor", "behebe", "repariere", "wie kann ich", "wie mache ich", "entwickle",
    ),
    "es": (
        "implementa", "escribe", "escribir", "crea", "crear", "añade", "agrega", "construye",
        "genera", "refactoriza", "arregla", "corrige", "cómo puedo", "como puedo", "desarrolla",
        "hazme", "haz un",
    ),
    "fr": (
        "implémente", "implemente", "écris", "ecris", "écrire", "crée", "cree", "créer", "ajoute",
        "construis", "génère", "genere", "refactorise", "corrige", "comment puis-je",
        "comment faire", "développe", "fais un",
    ),
    "pt": (
        "implemente", "implementa", "escreva", "escreve", "crie", "cria", "criar", "adicione",
        "adiciona", "construa", "gere", "refatore", "corrija", "conserte", "como posso",
        "como faço", "desenvolva", "faça um",
    ),
    "ru": (
        "реализуй", "напиши", "написать", "создай", "добавь", "сделай", "сгенерируй", "отрефактор",
        "исправь", "как мне", "как сделать", "разработай",
    ),
    "ja": (
        "実装して", "書いて", "作成して", "作って", "追加して", "生成して", "リファクタ",
        "修正して", "実装",
    ),
    "zh": (
        "实现", "编写", "写一个", "写个", "创建", "添加", "生成", "重构", "修复", "帮我写",
        "怎么写",
    ),
    "ko": (
        "구현", "작성해", "만들어", "추가해", "생성해", "리팩터", "수정해", "짜줘", "작성",
    ),
}

DEFINITION: dict[str, tuple[str, ...]] = {
    "en": (
        "what is", "what's", "what are", "explain", "how does", "how do", "difference between",
        "define", "definition of", "meaning of", "tell me about", "eli5", "why is",
    ),
    "de": (
        "was ist", "was sind", "erkläre", "erklaere", "erklär", "wie funktioniert", "unterschied",
    ),
    "es": (
        "qué es", "que es", "qué son", "explica", "explícame", "cómo funciona", "diferencia",
    ),
    "fr": (
        "qu'est-ce", "c'est quoi", "explique", "comment fonctionne", "différence", "difference",
    ),
    "pt": (
        "o que é", "o que e", "o que são", "explique", "explica", "como funciona", "diferença",
    ),
    "ru": (
        "что такое", "объясни", "как работает", "в чём разница", "в чем разница", "что значит",
    ),
    "ja": (
        "とは", "って何", "説明して", "仕組み", "違い",
    ),
    "zh": (
        "什么是", "是什么", "解释", "原理", "区别", "介绍一下",
    ),
    "ko": (
        "란 무엇", "이란", "무엇인가", "설명해", "원리", "차이",
    ),
}

PROSE: dict[str, tuple[str, ...]] = {
    "en": (
        "typo", "spelling", "grammar", "wording", "proofread", "prose", "punctuation", "phrasing",
        "readme", "intro", "documentation", "docs", "blog post", "is it clear", "paragraph",
        "tone", "changelog", "release notes",
    ),
    "de": (
        "tippfehler", "rechtschreib", "grammatik", "formulierung",
    ),
    "es": (
        "errores tipográficos", "ortografí", "ortografi", "gramátic", "gramatic", "redacción",
    ),
    "fr": (
        "faute", "coquille", "orthograph", "grammaire", "formulation",
    ),
    "pt": (
        "erros de digitação", "ortografi", "gramática", "gramatica", "redação", "redacao",
    ),
    "ru": (
        "опечат", "орфограф", "граммати", "формулировк",
    ),
    "ja": (
        "誤字", "脱字", "文法", "表現",
    ),
    "zh": (
        "错别字", "拼写", "语法", "措辞",
    ),
    "ko": (
        "오타", "맞춤법", "문법", "표현",
    ),
}

ROLE: dict[str, tuple[str, ...]] = {
    "en": (
        "security auditor", "security reviewer", "security engineer", "security expert",
        "security researcher", "security analyst", "penetration tester", "pentester",
        "code reviewer", "code auditor", "auditor", "reviewer", "appsec", "red team", "audit code",
        "audit the code", "review code", "review the code", "find vulnerabilities",
        "identify vulnerabilities", "review pull requests", "security review", "security audit",
        "security assessment", "review code for", "audit", "vulnerability assessment",
        "threat model", "vulnerabilit", "security issue", "security flaw", "security bug",
        "security problem", "exploitab", "owasp", "cwe", "insecure code", "security weakness",
    ),
    "de": (
        "sicherheitsprüfer", "sicherheitsexperte", "code-reviewer", "prüfer",
    ),
    "es": (
        "auditor", "revisor de código", "experto en seguridad",
    ),
    "fr": (
        "auditeur", "relecteur de code", "expert en sécurité",
    ),
    "pt": (
        "auditor", "revisor de código", "especialista em segurança",
    ),
    "ru": (
        "аудитор", "ревьюер", "специалист по безопасности",
    ),
    "ja": (
        "セキュリティ監査", "レビュアー", "監査人",
    ),
    "zh": (
        "安全审计", "代码审查员", "审计员",
    ),
    "ko": (
        "보안 감사", "리뷰어", "감사자",
    ),
}

SIDE_TASK: dict[str, tuple[str, ...]] = {
    "en": (
        "title for", "a title", "short title", "conversation title", "chat title",
        "generate a title", "summarize the conversation", "summarize this conversation",
        "summary of the conversation", "summary of this conversation", "conversation summary",
        "summarize our conversation", "compact the conversation", "condense the conversation",
        "summary of the chat", "commit message", "commit msg", "shell command", "terminal command",
        "bash command", "suggest a command", "one-line command", "summarize this",
        "summarise this", "summarize the", "summarise the", "you summarize", "you summarise",
        "summary for continuing", "for continuing the conversation", "continue in a fresh context",
        "compaction", "title of", "topic of the conversation", "new topic",
        "prefix of the command", "title generator", "thread title", "conversation topic",
        "chat name", "name for this conversation", "summarize the following",
        "summarise the following",
    ),
}

# A turn that opens by continuing the last one: a follow-up even when it is not short
CONTINUATION: dict[str, tuple[str, ...]] = {
    "en": ("what about", "how about", "and the", "and this", "same problem", "same issue",
           "same kind", "same question", "same for", "same thing", "this one too", "yes",
           "ok and", "next one"),
    "de": ("und der", "und die", "und das", "was ist mit", "gleiche problem", "dasselbe",
           "genauso"),
    "es": ("y el", "y la", "y los", "y las", "qué tal", "mismo problema", "lo mismo"),
    "fr": ("et le", "et la", "et les", "et pour", "même problème", "pareil"),
    "pt": ("e o", "e a", "e os", "e as", "e quanto", "mesmo problema", "a mesma coisa"),
    "ru": ("а что насчёт", "а что насчет", "а если", "то же самое", "а здесь", "и здесь"),
    "ja": ("も同じ", "はどう", "こちらも", "次は"),
    "zh": ("那个呢", "也一样", "同样的", "还有这个"),
    "ko": ("도 같은", "는 어때", "마찬가지", "이것도"),
}  # fmt: skip

# Debugging: something fails and the person wants it working (judge.py: never against an ask)
DEBUG: dict[str, tuple[str, ...]] = {
    "en": (
        "figure out why", "fails with", "failing with", "keeps failing", "stopped working",
        "doesn't work", "does not work", "isn't working", "not working", "getting an error",
        "get an error", "throws an error", "error message", "stack trace", "traceback", "why does",
        "why doesn't", "how come", "broke after", "broken after",
    ),
    "de": ("funktioniert nicht", "fehlermeldung", "warum geht", "stürzt ab"),
    "es": ("no funciona", "da error", "mensaje de error", "por qué falla"),
    "fr": ("ne marche pas", "ne fonctionne pas", "message d'erreur", "pourquoi ça plante"),
    "pt": ("não funciona", "nao funciona", "dá erro", "mensagem de erro"),
    "ru": ("не работает", "выдаёт ошибку", "выдает ошибку", "почему падает"),
    "ja": ("動かない", "エラーが出", "なぜか失敗"),
    "zh": ("不工作", "报错", "为什么失败"),
    "ko": ("작동하지 않", "에러가 나", "오류가 발생"),
}

# "is it safe ...": a security question when it is about the user's code (judge.py)
SAFETY: dict[str, tuple[str, ...]] = {
    "en": ("is it safe", "is this safe", "is that safe", "safe to", "safe enough", "unsafe"),
    "de": ("ist das sicher", "ist es sicher", "sicher genug"),
    "es": ("es seguro", "¿es seguro", "es suficientemente seguro"),
    "fr": ("est-ce sûr", "est-ce sur", "est-ce sécurisé", "sans danger"),
    "pt": ("é seguro", "e seguro", "seguro o suficiente"),
    "ru": ("безопасно ли", "это безопасно"),
    "ja": ("安全ですか", "安全か", "大丈夫ですか"),
    "zh": ("安全吗", "是否安全"),
    "ko": ("안전한가", "안전한지", "안전해"),
}

# (system prompts) where a role is given: "you are", "act as", "your task is"
OPENER: dict[str, tuple[str, ...]] = {
    "en": (
        "you are", "you're", "act as", "your task", "your job", "your role", "your goal",
        "your purpose", "you will", "you review", "you audit", "you analy", "as a",
    ),
    "de": (
        "du bist", "sie sind", "deine aufgabe", "ihre aufgabe", "agiere als",
    ),
    "es": (
        "eres", "usted es", "tu tarea", "actúa como", "actua como",
    ),
    "fr": (
        "tu es", "vous êtes", "vous etes", "ta tâche", "votre tâche", "agis comme",
    ),
    "pt": (
        "você é", "voce e", "tu és", "sua tarefa", "aja como", "atue como",
    ),
    "ru": (
        "ты ", "вы ", "твоя задача", "ваша задача", "действуй как",
    ),
    "ja": (
        "あなたは", "あなたの役割", "として",
    ),
    "zh": (
        "你是", "您是", "你的任务", "作为",
    ),
    "ko": (
        "당신은", "너는", "역할",
    ),
}

POLICY: dict[str, tuple[str, ...]] = {
    "en": (
        "never", "don't", "do not", "must not", "mustn't", "should not", "avoid", "refuse",
        "allow", "permitted", "best practice", "ensure", "make sure", "always", "prohibited",
        "forbidden", "under no circumstances", "only assist", "defensive", "decline",
        "if the user", "if asked", "when asked", "is fine", "are fine",
    ),
    "de": (
        "niemals", "nie ", "nicht", "vermeide", "immer", "erlaubt", "verboten",
    ),
    "es": (
        "nunca", "no debes", "evita", "siempre", "permitido", "prohibido",
    ),
    "fr": (
        "jamais", "ne pas", "évite", "toujours", "autorisé", "interdit",
    ),
    "pt": (
        "nunca", "não deve", "evite", "sempre", "permitido", "proibido",
    ),
    "ru": (
        "никогда", "не ", "избегай", "всегда", "разрешен", "запрещ",
    ),
    "ja": (
        "しないで", "禁止", "必ず", "避け",
    ),
    "zh": (
        "不要", "禁止", "必须", "避免", "允许",
    ),
    "ko": (
        "하지 마", "금지", "반드시", "피하",
    ),
}

FIM_MARKERS = (
    "<|fim_prefix|>", "<|fim_suffix|>", "<|fim_middle|>", "<fim_prefix>", "<fim_suffix>",
    "<fim_middle>", "<|fim▁begin|>", "<|fim▁hole|>", "<｜fim▁begin｜>", "<PRE>", "<SUF>", "<MID>",
    "[PREFIX]", "[SUFFIX]", "<FILL_HERE>", "{{FILL_HERE}}", "<|fim_pad|>", "HOLE FILLER",
    "<|editable_region",
)

DEFAULT_VOCABULARY: Vocabulary = {
    "security": SECURITY,
    "attack": ATTACK,
    "ask": ASK,
    "review": REVIEW,
    "precision": PRECISION,
    "writing": WRITING,
    "definition": DEFINITION,
    "prose": PROSE,
    "role": ROLE,
    "side_task": SIDE_TASK,
    "policy": POLICY,
    "opener": OPENER,
    "safety": SAFETY,
    "debug": DEBUG,
    "continuation": CONTINUATION,
}
# fmt: on
