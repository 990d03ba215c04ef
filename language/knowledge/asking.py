"""Is a message a consultation (a question to answer) rather than a report that happens to ask something?"""

from __future__ import annotations

import re

from language.text import normalise

# How people ask, in standard Chinese, Henan speech and speech recognition text.
_ASKING = re.compile(
    r"怎么|怎样|怎么样|咋|如何|哪里|哪儿|哪个|哪些|哪家|哪能|在哪|去哪|到哪|找谁|谁管|应该谁|谁[交付出赔办]|打啥|打什么|"
    r"能不能|能否|可不可以|可以吗|是不是|是否|有没有|有木有|要不要|用不用|需不需要|中不中|行不行|算不算|会不会|"
    # 几 asks, but not in an amount (十几个, 好几天).
    r"什么|啥|多少|多久|多长时间|(?<![十好这那前后头没])几[年月天号点个岁]|"
    r"请问|想问|问一下|问问|咨询|请教|打听|"
    r"[吗么嘛呢]|[?？]|"
    r"[能可行中会算要用有][不没]\b|[了过]没\b|不[能会行中]\b"
)
# A verb, adjective or particle closing a yes-no question with 不/没 ("能报不", "交了没", "中不"), and
# the A-not-A question anywhere ("能报不能报", "归不归").
_TAIL = re.compile(r"[\u3400-\u9fff][不没](?:呀|啊|哩|嘞)?$|([\u3400-\u9fff]{1,2})不\1")
# What a report or complaint says even when it asks: a rhetorical or urging question ("怎么还没人修",
# "能不能管管"), a demand to act, or the citizen filing something ("我要投诉").
_REPORTING = re.compile(
    r"[怎咋]么?还|为[啥什]么?还|[怎咋]么?又|为[啥什]么?又|凭什么|到底|"
    r"有没有人管|没人管|管不管|管一管|管管|谁来管|不管不问|"
    r"啥时候[能才]?[修管弄处解]|什么时候[能才]?[修管弄处解]|多久[能才]?[修管弄处解]|"
    r"赶紧|赶快|尽快|快点|快来|马上|立即|立刻|速派|求求|救命|"
    r"[请麻][烦]?.{0,4}(?:处理|解决|督促|查处|整改|取缔|清理|修一下|给修|派人|来人|帮忙|帮俺|帮我)|"
    r"希望.{0,6}(?:处理|解决|整改|管)|"
    r"我要(?:投诉|举报|反映|报案)|要投诉|想投诉|想举报|特此|现反映|实名举报|举报[:：]|反映[:：]|"
    # Asking the city to act is a request, not a consultation ("能不能给补补", "能不能多发几趟").
    r"(?:能不能|能否|可不可以|可否)(?:给(?:俺们?|我们?|咱们?)?(?:修|补|看看|解决|处理|弄|想|催|查|安排|调|挪)|"
    r"帮(?:俺们?|我们?|咱们?)?(?:修|看看|解决|处理|催|问问|查)|"
    r"派|来人|来看|安排|多[设装发加开放安排]|设|装|修|管|提前|早点|弄个|搞个|建个|挪|延|调|先来|查查|查一下|催)|"
    r"有用吗|有没有用|给俺指|[帮给](?:俺|我|咱)?问问|帮着催|"
    # A suggestion, and the exasperated "what now" after a story of what went wrong.
    r"^建议|^俺建议|^我建议|俺说句|俺有个想法|(?:这|可)(?:该|可)?(?:咋|怎么)(?:办|弄|整)|"
    r"这是啥道理|凭啥|弄啥嘞|[咋怎]么?[恁这那]么?慢|能[修来]一下|给[修看]一下"
)
# Asking how or where to complain is a consultation, not a complaint ("暖气不热找谁反映", "去哪投诉").
_ASKING_HOW_TO_REPORT = re.compile(
    r"(?:找谁|去哪|在哪|哪里|哪个部门|怎么|咋|如何|能不能|可以|会不会|电话)[^，。,.!！]{0,4}(?:投诉|举报|反映)|"
    r"(?:投诉|举报|反映)[^，。,.!！]{0,4}(?:找谁|去哪|在哪|哪里|哪个部门|电话|会不会|有用)"
)


def looks_like_question(text: str) -> bool:
    """True for a consultation ("公积金咋提"); False for a report, even one that asks ("路灯坏了一周了怎么还没人修")."""
    text = normalise(text)
    if not text:
        return False
    asking = bool(_ASKING.search(text) or _TAIL.search(text))
    if not asking:
        return False
    return not (_REPORTING.search(text) and not _ASKING_HOW_TO_REPORT.search(text))
