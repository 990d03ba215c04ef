"""Whether what a clause says is happening now: time, mood, negation, hearsay and figures of speech.

`去年着过一次火` (past), `万一起火了怎么整` (hypothetical), `气得我快爆炸了` (figurative), `没有漏气了`
(negated), `新闻里说外地燃气爆炸` (hearsay) name a danger that is not here now. A cue holds from where it
stands to the end of its clause, and a past, hypothetical or hearsay cue also over the clauses after it
until a cue of the present (`现在`, `还`, `一直`, `正在` ...) takes over again.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from language.lexicon import Hit, Lexicon

# Figures of speech that name a danger without one: removed before anything else is read.
FIGURATIVE = (
    "气炸", "气得我", "气死", "气人", "火冒三丈", "冒火了", "上火", "火大", "发火", "恼火", "火气", "心里着火",
    "心里跟着火", "跟着火了一样", "急得", "急死", "急疯", "要疯了", "疯了", "窒息", "心态崩", "崩溃", "要命",
    "炸锅", "炸了锅", "头都炸", "肺都气炸", "头顶冒烟", "心脏病都要", "被气出", "血压都上来", "要被逼死",
    "逼死人", "坑死", "累死", "烦死", "吵死", "冷死", "热死", "饿死", "穷死", "笑死", "跑断", "腿都要跑断",
    "跟打仗一样", "火爆", "火热", "震天响", "震耳欲聋", "爆单", "爆满", "爆仓", "打爆", "电话打爆", "救命钱",
)

# Hyperbole runs from these words to the end of their clause: 气得我快爆炸了, 急得俺头顶冒烟.
FIGURATIVE_SCOPE = ("气得", "急得", "恨不得", "简直", "愁得", "吓得我心", "得我都", "得我快", "得俺都", "得俺快",
                    "都要晕", "快要疯")

_CUES: dict[str, tuple[str, ...]] = {
    "done": ("过一回", "过一次", "过两次", "过好几次", "出过", "发生过", "着过", "摔过", "困过", "爆过", "淹过",
             "丢过", "塌过", "漏过", "掉过", "砸过", "撞过", "那次", "那回", "曾经", "早过去了", "事过去了", "了一回",
             "了一次", "偷过"),
    "past": ("去年", "前年", "大前年", "上个月", "上月", "上上个月", "上回", "上次", "那次", "那回", "以前", "之前",
             "曾经", "曾", "前几天", "前些天", "前段时间", "前阵子", "上周", "上礼拜", "上星期", "当时", "那时候",
             "本月", "前天", "大前天", "昨天", "昨晚", "前晚", "前些年", "上个礼拜", "上个星期", "月初", "年初",
             "去年冬天", "去年夏天",
             "小时候", "早些年", "那年", "后来", "几年前", "多年前", "上上周", "去年年底", "年前"),
    "present": ("现在", "这会儿", "这会", "正在", "正", "还在", "一直", "仍然", "仍", "至今", "到现在", "目前",
                "刚才", "刚刚", "刚", "马上", "快来", "快派", "赶紧", "立即", "立刻", "速派", "求求", "救命",
                "越来越", "此刻", "眼下", "今天", "今晚", "今早", "就现在", "这两天", "这几天", "今儿",
                "今儿个", "一下子"),
    "hypothetical": ("万一", "要是", "如果", "假如", "假设", "一旦", "如遇", "若", "怕哪天", "就怕", "担心", "害怕会",
                     "会不会", "会不会有", "恐有", "以防", "防止", "预防", "隐患", "风险", "容易", "可能会",
                     "应该先", "该怎么", "如何处理", "有一天", "哪天", "将来", "迟早", "早晚会", "早晚要"),
    "hearsay": ("新闻", "电视上", "电视里", "听说", "听人说", "听广播", "网上", "抖音", "快手", "微博", "热搜",
                "朋友圈", "外地", "外省", "别的城市", "别的地方", "其他城市", "南边哪个", "哪个县", "有个地方",
                "报道", "看到新", "刷到", "媒体", "据说", "听别人说", "群里说", "视频里", "网传", "看报道", "他们那边",
                "人家那边"),
    "negation": ("没", "没有", "不", "未", "无", "木有", "没得", "并没", "差点", "差一点", "险些", "以为"),
    "resolved": ("修好了", "已经修好", "修好", "已经好了", "好了", "没事了", "木事", "没啥事", "灭了", "已经灭",
                 "扑灭", "恢复正常", "恢复了", "处理完毕", "处理好了", "已经处理", "收拾了", "已经收拾", "放出来了",
                 "救出来了", "关了总阀", "没事", "说没事", "补上了", "已经补", "换了", "已经换", "拆了", "已经来修",
                 "私了",
                 "已经走了", "没漏", "不漏了", "没味了", "没砸着", "没人受伤", "无人员伤亡", "没伤着", "没受伤",
                 "人没事", "人都没事", "没大事", "无大碍", "没有危险了", "已经不漏", "已经关了", "关了阀门",
                 "已经出来了", "已经送医", "已经排除", "虚惊一场", "是误会", "误报", "原来是", "结果是",
                 "没着起来", "没有着火", "没漏气", "味道散了", "已经散了", "已经通风", "没有人被困",
                 "里面没人", "没人在里面", "已经没事", "已经抢修好", "已经恢复", "接好了", "早过去了", "钱也给了",
                 "派出所处理完", "无人员受伤", "清理完毕", "已清理", "所幸", "拉了总闸", "拉闸了", "才来人", "最后还是",
                 "后来才", "总算", "终于出来", "已经报警", "报了警"),
    "uncertain": ("不知道是不是", "不知道是", "也不知道", "说不上来", "说不清", "还是咋了", "要不要管", "不确定",
                  "分不清", "看不清是", "不清楚是", "还是咋着", "还是怎么了"),
}

CUES = Lexicon(_CUES, by_sound=False)  # function words: people and recognisers write them right
_FIGURATIVE = Lexicon({"figurative": FIGURATIVE, "scope": FIGURATIVE_SCOPE}, by_sound=False)
_SIMILE = ("一样", "似的", "一般")
_RISK = ("隐患", "风险")
_HEARD = re.compile(r"听[^，。！？,.!?\s]{1,4}说")  # 听老乡说, 听人家说: hearsay
_CLAUSE = re.compile(r"[，。！？；,.!?;：:、\n]+|\s{1,}|(?:但是|不过|可是|结果|后来|然后然后)")


@dataclass(frozen=True, slots=True)
class Reading:
    """A text made ready for the concepts: figures of speech blanked, clauses, and the cues found."""

    text: str  # with figures of speech replaced by spaces (same length as the original)
    clauses: tuple[tuple[int, int], ...]  # (start, end) of each clause
    cues: tuple[Hit, ...]
    figurative: tuple[str, ...]


def read(text: str) -> Reading:
    """Split `text` into clauses and find its cues of time, mood and negation."""
    blanked = list(text)
    figures = []
    for hit in _FIGURATIVE.scan(text):
        figures.append(hit.term)
        end = hit.end
        if hit.label == "scope":
            stop = _CLAUSE.search(text, hit.end)
            end = stop.start() if stop else len(text)
        for i in range(hit.start, end):
            blanked[i] = " "
    plain = "".join(blanked)
    heard = [Hit("hearsay", m.group(0), m.start(), m.end()) for m in _HEARD.finditer(plain)]
    clauses, start = [], 0
    for match in _CLAUSE.finditer(plain):
        if match.start() > start:
            clauses.append((start, match.start()))
        start = match.end()
    if start < len(plain):
        clauses.append((start, len(plain)))
    cues = sorted([*CUES.scan(plain), *heard], key=lambda h: h.start)
    return Reading(plain, tuple(clauses), tuple(cues), tuple(figures))


def clause_of(reading: Reading, position: int) -> int:
    """The index of the clause holding `position`."""
    for index, (start, end) in enumerate(reading.clauses):
        if start <= position < end:
            return index
    return max(len(reading.clauses) - 1, 0)


def mood_at(reading: Reading, start: int, end: int, *, lasting: bool = False) -> str | None:
    """Why the words at [start, end) do not describe a danger here and now, or None when they may.

    One of `negated`, `resolved`, `figurative`, `hypothetical`, `past`, `hearsay`. `lasting` is for a state
    that stays until someone acts (a missing cover): said to have started before and still so, it counts;
    an event (a fire) said to be before is past whatever follows.
    """
    clause = clause_of(reading, start)
    c_start, c_end = reading.clauses[clause] if reading.clauses else (0, len(reading.text))
    text = reading.text
    if any(mark in text[end:end + 3] for mark in _SIMILE):
        return "figurative"  # 心里跟着了火一样
    if text[end:end + 1] == "过":
        return "past"  # 偷过, 着过: it happened and is over
    if text[end:end + 3].lstrip("的").startswith(_RISK):
        return "hypothetical"  # 火灾隐患, 触电的风险: what could happen, not what does
    for cue in reading.cues:
        if cue.label == "negation" and c_start <= cue.start and 0 <= start - cue.end <= 2:
            return "negated"
    for cue in reading.cues:  # the danger is over: said later for a state, anywhere for an event
        if cue.label == "resolved" and (cue.start >= end or not lasting):
            return "resolved"
    scoped: str | None = None
    for cue in reading.cues:  # in order of position (Lexicon.scan)
        if cue.start >= end and cue.label not in ("past", "done"):
            break
        if cue.label == "present":
            if cue.start < start and scoped != "done":
                scoped = None
            continue
        if cue.label == "hearsay" and cue.start < start:
            return "hearsay"
        if cue.label == "hypothetical" and cue.start < start:
            scoped = "hypothetical"
        elif cue.label == "done" and c_start <= cue.start < c_end:  # 着过, 那次: its own clause
            scoped = "done"
        elif cue.label == "past" and scoped != "done" and (
                cue.start < start or (cue.start < c_end and cue.start <= end + 2)):
            scoped = "past"
    if scoped == "done":
        return "past"
    if scoped == "past" and lasting and _present_after(reading, end):
        return None  # 昨天井盖就丢了，到现在还没人管: still so
    return scoped


def uncertain(reading: Reading) -> bool:
    """Whether the writer says they are not sure what is happening (不知道是不是着火)."""
    return any(cue.label == "uncertain" for cue in reading.cues)


def _present_after(reading: Reading, position: int) -> bool:
    return any(cue.label == "present" and cue.start >= position and cue.term not in ("刚")
               for cue in reading.cues)
