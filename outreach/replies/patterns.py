"""Text patterns of people and their mail clients: auto-replies, opt-outs, quoted text.

Languages: English, French, German, Italian, Spanish, Dutch, Polish and
Portuguese (and a few others where a phrase is cheap to add). Patterns are
matched case-insensitively on text whose whitespace has been collapsed.

Auto-reply body patterns are written in the present or future tense ("I am
out of the office until …", "je suis absent jusqu'au …"), so that a person
writing "I was out of the office last week, but …" is not taken for a
machine. Opt-out patterns are looked for only in the text a person wrote,
not in the quoted letter below it. (Mail-system notices are in
``outreach.replies.notice_patterns``.)
"""

from __future__ import annotations

import re

FLAGS = re.IGNORECASE | re.UNICODE


def alt(*phrases: str) -> str:
    """A non-capturing group of alternatives."""
    return "(?:" + "|".join(phrases) + ")"


# -- auto-replies ------------------------------------------------------------

#: subjects of out-of-office and other automatic answers (the start of the subject,
#: after an optional "Re:"/"AW:"/…)
AUTO_REPLY_SUBJECT = re.compile(
    r"^\s*(?:(?:re|aw|sv|vs|odp|r|rif|ref|fw|fwd|tr|wg)\s*:\s*)*"
    + alt(
        r"auto(?:matic|matische?|matique|matica|mático|mática|matyczna|matisch)?[\s_-]*"
        r"(?:reply|response|answer|antwort|réponse|reponse|risposta|respuesta|"
        r"resposta|antwoord|odpowied[zź]|svar)",
        r"(?:reply|response|antwort|réponse|risposta|respuesta|resposta|antwoord|"
        r"odpowied[zź])\s+auto(?:matic|matische?|matique|matica|mática|mático|matyczna|"
        r"matisch)?",
        r"auto\s*:",
        r"out\s+of\s+(?:the\s+)?office",
        r"ooo\b",
        r"on\s+(?:annual\s+|parental\s+|sick\s+)?(?:leave|holiday|vacation)",
        r"away\s+from\s+(?:the\s+)?office",
        r"absence",
        r"absent(?:e|ee)?\b",
        r"abwesen(?:d|heit)",
        r"nicht\s+im\s+b[üu]ro",
        r"au[ßs]er\s+haus",
        r"urlaub",
        r"(?:message\s+d['’])?absence",
        r"assente",
        r"fuori\s+(?:sede|ufficio)",
        r"ausente",
        r"fuera\s+de\s+(?:la\s+)?oficina",
        r"fora\s+do\s+escrit[óo]rio",
        r"afwezig(?:heid)?",
        r"niet\s+aanwezig",
        r"buiten\s+kantoor",
        r"nieobecno[śs][ćc]",
        r"poza\s+biurem",
        r"urlop",
        r"f[ée]ri[ée]s?\b",
        r"vacances",
        r"vacaciones",
        r"vacanze",
        r"f[ée]rias",
        r"vakantie",
        r"thank\s+you\s+for\s+(?:your\s+)?(?:e-?mail|message)",
        r"we\s+(?:have\s+)?received\s+your\s+(?:e-?mail|message)",
        r"(?:accus[ée]\s+de\s+)?r[ée]ception\s+de\s+votre\s+(?:message|courriel)",
        r"eingangsbest[äa]tigung",
        r"ricevuta\s+di\s+ritorno",
        r"acuse\s+de\s+recibo",
        r"ontvangstbevestiging",
    ),
    FLAGS,
)

#: body sentences of automatic answers: present/future tense only
AUTO_REPLY_BODY = re.compile(
    alt(
        # en
        r"\bI\s*(?:am|'m|’m|will\s+be)\s+(?:currently\s+|now\s+)?(?:out\s+of\s+(?:the\s+)?office"
        r"|away\s+(?:from|until|till|on|and)|on\s+(?:annual\s+|parental\s+|sick\s+)?(?:leave|"
        r"holiday|vacation)|travell?ing\s+(?:and|with|until)|absent|not\s+in\s+the\s+office"
        r"|out\s+(?:until|till|on|from))",
        r"\b(?:this|the)\s+(?:mailbox|e-?mail\s+address|address)\s+is\s+(?:no\s+longer|not)\s+"
        r"(?:monitored|in\s+use|active|checked|read)",
        r"\bthis\s+is\s+an\s+automat(?:ic|ed)\s+(?:reply|response|message|e-?mail|answer)",
        r"\bthank\s+you\s+for\s+(?:your\s+)?(?:e-?mail|message)[.,!]?\s+(?:I|we)\s+"
        r"(?:will|shall)\s+(?:respond|reply|get\s+back|answer)",
        r"\bwith\s+(?:limited|no)\s+access\s+to\s+(?:my\s+)?e-?mail",
        r"\bI\s+will\s+(?:be\s+)?(?:back|return)\s+(?:in\s+the\s+office\s+)?on\b",
        # fr
        r"\bje\s+suis\s+(?:actuellement\s+)?(?:absente?|en\s+(?:cong[ée]s?|vacances|"
        r"d[ée]placement|mission)|hors\s+du\s+bureau)",
        r"\bje\s+serai\s+(?:absente?|de\s+retour)",
        r"\bce\s+message\s+est\s+(?:une\s+r[ée]ponse\s+)?automatique",
        r"\bceci\s+est\s+une?\s+(?:r[ée]ponse|message)\s+automatique",
        # de
        r"\bich\s+bin\s+(?:derzeit\s+|zurzeit\s+|zur\s+zeit\s+|momentan\s+|vom\s+\S+\s+)?"
        r"(?:bis\s+(?:einschlie[ßs]lich\s+)?(?:zum\s+|am\s+)?\S+\s+)?"
        r"(?:nicht\s+im\s+b[üu]ro|abwesend|au[ßs]er\s+haus|im\s+urlaub|nicht\s+erreichbar"
        r"|auf\s+(?:dienst)?reise)",
        r"\bich\s+bin\s+ab\s+dem\s+\S+\s+wieder",
        r"\bdiese\s+(?:nachricht|e-?mail)\s+wurde\s+automatisch",
        r"\bdies\s+ist\s+eine\s+automatische",
        # it
        r"\bsar[òo]\s+(?:assente|fuori\s+(?:sede|ufficio)|in\s+ferie)",
        r"\bsono\s+(?:attualmente\s+)?(?:assente|fuori\s+(?:sede|ufficio)|in\s+ferie)",
        r"\bquesto\s+[èe]\s+un\s+messaggio\s+automatico",
        r"\brisposta\s+automatica",
        # es
        r"\bestar[ée]\s+(?:ausente|fuera\s+de\s+la\s+oficina|de\s+vacaciones)",
        r"\bestoy\s+(?:ausente|fuera\s+de\s+la\s+oficina|de\s+vacaciones)",
        r"\beste\s+es\s+un\s+mensaje\s+autom[áa]tico",
        r"\brespuesta\s+autom[áa]tica",
        # nl
        r"\bik\s+ben\s+(?:momenteel\s+|tot\s+en\s+met\s+\S+\s+|tot\s+\S+\s+)?"
        r"(?:afwezig|niet\s+aanwezig|met\s+vakantie|op\s+vakantie|buiten\s+kantoor)",
        r"\bdit\s+is\s+een\s+automatisch(?:e)?\s+(?:antwoord|bericht)",
        # pl
        r"\bjestem\s+(?:obecnie\s+)?(?:nieobecn[ya]|na\s+urlopie|poza\s+biurem)",
        r"\bb[ęe]d[ęe]\s+(?:nieobecn[ya]|na\s+urlopie|poza\s+biurem)",
        r"\bwiadomo[śs][ćc]\s+(?:zosta[łl]a\s+)?wygenerowan[ao]\s+automatycznie",
        r"\bodpowied[źz]\s+automatyczna",
        # pt
        r"\bestou\s+(?:ausente|de\s+f[ée]rias|fora\s+do\s+escrit[óo]rio)",
        r"\bestarei\s+(?:ausente|de\s+f[ée]rias|fora\s+do\s+escrit[óo]rio)",
        r"\besta\s+[ée]\s+uma\s+(?:resposta|mensagem)\s+autom[áa]tica",
        r"\bresposta\s+autom[áa]tica",
    ),
    FLAGS,
)

#: how far into a body the auto-reply sentences are looked for (characters)
AUTO_REPLY_BODY_WINDOW = 800

# -- return dates -------------------------------------------------------------

MONTHS: dict[str, int] = {}
for _number, _names in enumerate(
    (
        "january janvier januar jänner gennaio enero januari styczeń stycznia janeiro jan",
        "february février fevrier februar febbraio febrero februari luty lutego fevereiro feb",
        "march mars märz maerz marzo maart marzec marca março marco mar",
        "april avril aprile abril kwiecień kwietnia apr",
        "may mai maggio mayo mei maj maja maio",
        "june juin juni giugno junio czerwiec czerwca junho jun",
        "july juillet juli luglio julio lipiec lipca julho jul",
        "august août aout agosto augustus sierpień sierpnia aug",
        "september septembre settembre septiembre wrzesień września setembro sep sept",
        "october octobre oktober ottobre octubre październik października outubro oct okt",
        "november novembre noviembre listopad listopada novembro nov",
        "december décembre decembre dezember dicembre diciembre grudzień grudnia dezembro "
        "dec dez",
    ),
    start=1,
):
    for _name in _names.split():
        MONTHS[_name] = _number

_MONTH_NAME = "(?P<mname>" + "|".join(sorted(MONTHS, key=len, reverse=True)) + r")\.?"

#: "until", "back on" … in the eight languages, followed by a date
RETURN_MARKER = re.compile(
    alt(
        r"\buntil\b",
        r"\btill\b",
        r"\bthrough\b",
        r"\bback\s+(?:in\s+the\s+office\s+)?on\b",
        r"\breturn(?:ing)?\s+(?:to\s+the\s+office\s+)?on\b",
        r"\bjusqu['’]\s*(?:au|à|a)\b",
        r"\bde\s+retour\s+le\b",
        r"\bretour\s+(?:pr[ée]vu\s+)?le\b",
        r"\bbis\s+(?:einschlie[ßs]lich\s+)?(?:zum|am)?\b",
        r"\bab\s+(?:dem|am)?\b",
        r"\bwieder\s+(?:ab|am)\b",
        r"\bfino\s+(?:al|a|all['’])\b",
        r"\brientro\s+(?:il|previsto)\b",
        r"\bhasta\s+el\b",
        r"\bhasta\b",
        r"\bregreso\s+el\b",
        r"\btot\s+en\s+met\b",
        r"\btot\b",
        r"\bweer\s+(?:aanwezig\s+)?op\b",
        r"\bdo\s+(?:dnia)?\b",
        r"\bat[ée]\s+(?:ao\s+dia|dia|o\s+dia)?\b",
        r"\bregresso\s+(?:a|no\s+dia)\b",
    )
    + r"\s*(?:the\s+|le\s+|il\s+|el\s+|o\s+|dem\s+|den\s+|zum\s+|monday|tuesday|wednesday|"
    r"thursday|friday|lundi|mardi|mercredi|jeudi|vendredi|montag|dienstag|mittwoch|"
    r"donnerstag|freitag|luned[ìi]|marted[ìi]|mercoled[ìi]|gioved[ìi]|venerd[ìi]|lunes|"
    r"martes|mi[ée]rcoles|jueves|viernes|maandag|dinsdag|woensdag|donderdag|vrijdag|"
    r"poniedzia[łl]ek|wtorek|[śs]roda|czwartek|pi[ąa]tek|segunda|ter[çc]a|quarta|quinta|"
    r"sexta|,|\s)*",
    FLAGS,
)

DATE_NUMERIC = re.compile(
    r"(?P<iso>(?P<iy>\d{4})-(?P<im>\d{1,2})-(?P<id>\d{1,2}))"
    r"|(?P<d>\d{1,2})[./-](?P<m>\d{1,2})(?:[./-](?P<y>\d{2,4}))?\b"
)
DATE_WORDS = re.compile(
    r"(?:(?P<d1>\d{1,2})(?:st|nd|rd|th|er|\.|º)?\s+(?:de\s+|of\s+)?" + _MONTH_NAME
    + r"(?:\s+(?:de\s+)?(?P<y1>\d{4}))?)"
    r"|(?:(?P<mname2>" + "|".join(sorted(MONTHS, key=len, reverse=True)) + r")\.?\s+"
    r"(?P<d2>\d{1,2})(?:st|nd|rd|th)?(?:,?\s+(?P<y2>\d{4}))?)",
    FLAGS,
)

# -- opt-out requests ---------------------------------------------------------

OPT_OUT = re.compile(
    alt(
        # en
        r"\bunsubscribe\b",
        r"\b(?:please\s+)?remove\s+(?:me|my\s+(?:e-?mail|address|name)|us)\b",
        r"\btake\s+(?:me|my\s+(?:e-?mail|address|name))\s+off\b",
        r"\b(?:stop|cease)\s+(?:e-?mailing|emailing|contacting|writing\s+to|sending)\b",
        r"\bdo\s+not\s+(?:e-?mail|contact|write\s+to)\s+(?:me|us)\b",
        r"\bdon['’]t\s+(?:e-?mail|contact|write\s+to)\s+(?:me|us)\b",
        r"\bno\s+(?:more|further)\s+(?:e-?mails|messages|letters)\b",
        r"\bopt[\s-]?out\b",
        # fr
        r"\bd[ée]sabonn",
        r"\bd[ée]sinscri",
        r"\bretirez[\s-](?:moi|mon\s+adresse)",
        r"\bsupprimez[\s-](?:moi|mon\s+adresse)",
        r"\bne\s+(?:plus\s+m['’](?:[ée]crire|envoyer|contacter)|m['’](?:[ée]crivez|envoyez|"
        r"contactez)\s+plus)",
        r"\bne\s+plus\s+recevoir\b",
        r"\bne\s+(?:souhaite|veux|d[ée]sire)\s+plus\s+recevoir\b",
        # de
        r"\babmelden\b",
        r"\babbestellen\b",
        r"\baustragen\b",
        r"\bentfernen\s+sie\s+(?:mich|meine\s+(?:adresse|e-?mail))",
        r"\bkeine\s+(?:weiteren\s+)?(?:e-?mails|nachrichten|zuschriften)\s+mehr\b",
        r"\bkeine\s+weiteren\s+(?:e-?mails|nachrichten|zuschriften)\b",
        r"\bschreiben\s+sie\s+mir\s+nicht\s+mehr\b",
        r"\baus\s+(?:dem|ihrem|diesem|eurem)\s+verteiler\b",
        r"\bvom\s+verteiler\s+(?:nehmen|streichen|entfernen)\b",
        # it
        r"\bcancellatemi\b",
        r"\bcancellarmi\b",
        r"\brimuovermi\b",
        r"\brimuovetemi\b",
        r"\bdisiscri",
        r"\bnon\s+(?:mi\s+)?(?:inviatemi|scrivetemi|contattatemi|scrivete|inviate)\s+pi[ùu]\b",
        r"\bnon\s+voglio\s+(?:pi[ùu]\s+)?ricevere\b",
        # es
        r"\bdar(?:me)?\s+de\s+baja\b",
        r"\bd[ée]nme\s+de\s+baja\b",
        r"\belim[íi]nenme\b",
        r"\bb[óo]rrenme\b",
        r"\bno\s+me\s+(?:env[íi]en|escriban|contacten)\s+m[áa]s\b",
        r"\bno\s+quiero\s+recibir\b",
        # nl
        r"\bafmelden\b",
        r"\buitschrijven\b",
        r"\buit\s+te\s+schrijven\b",
        r"\bverwijder\s+(?:mij|me|mijn\s+(?:adres|e-?mail))",
        r"\bmail\s+mij\s+niet\s+meer\b",
        r"\bgeen\s+(?:e-?mails|berichten)\s+meer\b",
        # pl
        r"\bwypisz(?:cie)?\s+mnie\b",
        r"\busu[ńn](?:cie)?\s+(?:mnie|m[óo]j\s+adres)",
        r"\bnie\s+(?:wysy[łl]ajcie|piszcie)\b",
        r"\bwypisa[ćc]\b",
        r"\busuni[ęe]ci[ae]\s+(?:mnie|mojego\s+adresu|adresu)",
        r"\bnie\s+chc[ęe]\s+otrzymywa[ćc]\b",
        # pt
        r"\bdescadastr",
        r"\bremova[\s-]me\b",
        r"\bremovam[\s-]me\b",
        r"\bretirem[\s-]me\b",
        r"\bn[ãa]o\s+(?:me\s+)?(?:enviem|escrevam|contactem)\s+mais\b",
        r"\bn[ãa]o\s+quero\s+(?:mais\s+)?receber\b",
        r"\bcancelar\s+(?:a\s+)?(?:subscri[çc][ãa]o|inscri[çc][ãa]o|assinatura)\b",
    ),
    FLAGS,
)

# -- quoted text in a person's reply ---------------------------------------------

QUOTE_HEADER = re.compile(
    alt(
        r"^\s*-{2,}\s*(?:original\s+message|urspr[üu]ngliche\s+nachricht|message\s+d['’]origine"
        r"|messaggio\s+originale|mensaje\s+original|oorspronkelijk\s+bericht|"
        r"wiadomo[śs][ćc]\s+oryginalna|mensagem\s+original|forwarded\s+message)",
        r"^\s*on\s.{0,200}\swrote\s*:\s*$",
        r"^\s*le\s.{0,200}\sa\s+[ée]crit\s*:\s*$",
        r"^\s*am\s.{0,200}\sschrieb\s.{0,200}$",
        r"^\s*il\s.{0,200}\sha\s+scritto\s*:\s*$",
        r"^\s*el\s.{0,200}\sescribi[óo]\s*:\s*$",
        r"^\s*op\s.{0,200}\sschreef\s.{0,200}$",
        r"^\s*(?:dnia\s)?.{0,200}\snapisa[łl](?:a|\(a\))?\s*:\s*$",
        r"^\s*(?:em|no\sdia)\s.{0,200}\sescreveu\s*:\s*$",
        r"^\s*(?:from|von|de|da|van|od|expéditeur|envoyé|gesendet|sent)\s*:\s.+$",
    ),
    FLAGS | re.MULTILINE,
)
