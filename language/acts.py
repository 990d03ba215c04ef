"""What a citizen is doing with a chat message, as far as the words tell: the dialog acts it may be.

Yes and no, never mind, withdraw, how is it going, satisfied or not, sign or not, will others see my name,
keep me anonymous, thanks and greetings, a question, a correction, not sure: each act is a concept with the
many ways people say it (dialect, typos, speech recognition), matched by sound (language/lexicon.py).
A message may be several acts; which one counts depends on the conversation's state
(bots/conversations/dialog.py): `好` confirms a draft, answers a co-sign question, or is just an ack.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum
from functools import cache, lru_cache

from language.lexicon import Hit, Lexicon
from language.text import normalise_for_reading


class Act(StrEnum):
    """The acts the chat understands."""

    YES = "yes"
    NO = "no"
    CANCEL = "cancel"  # drop the draft
    WITHDRAW = "withdraw"  # take back a filed request
    PROGRESS = "progress"
    SATISFIED = "satisfied"
    UNSATISFIED = "unsatisfied"
    SIGN = "sign"
    DECLINE = "decline"
    PRIVACY = "privacy"  # will others see my name / my data?
    CONFIDENTIAL = "confidential"  # keep my identity from the units
    GREETING = "greeting"
    THANKS = "thanks"
    HELP = "help"
    CORRECTION = "correction"
    NOT_SURE = "not_sure"
    NOT_HELPFUL = "not_helpful"  # the answer did not help: I want to report it
    REPORT = "report"  # "I want to report something" without the something
    HUMAN = "human"  # wants a person, or complains about the bot
    CLOSING = "closing"  # 知道了, 那我再等等, 恁忙吧: the end of an exchange, nothing new
    URGE = "urge"  # 快点, 恁们多催催: hurry it up
    WHEN = "when"  # 还要几天, 啥时候能修好: when will it be done


_CUES: dict[Act, tuple[str, ...]] = {
    Act.YES: ("对", "对的", "是的", "是", "嗯", "嗯嗯", "好", "好的", "好滴", "可以", "行", "行的", "中", "中中",
              "没问题", "就这样", "提交", "提交吧", "确认", "确定", "没错", "对着嘞", "是嘞", "中嘞", "ok", "okay",
              "yes", "1", "可以的", "就这", "就是这", "发吧", "报吧", "报上去", "登记吧", "麻烦提交", "对对", "是这样"),
    Act.NO: ("不对", "不是", "不", "没有", "没", "木有", "不用", "否", "no", "不要", "不行"),
    Act.CANCEL: ("取消", "算了", "不用了", "先不报了", "不报了", "不用报了", "不用报", "我再想想", "再想想", "不要了",
                 "不弄了", "不反映了", "先不反映", "放弃", "不提交", "别提交", "先别", "不登记", "不说了", "没事了",
                 "算啦", "拉倒", "不用登记", "别报了", "不用你们", "先不用"),
    Act.WITHDRAW: ("撤回", "撤销", "撤掉", "帮我撤", "不需要处理", "不用处理", "不用来了", "不用管了", "自己解决了",
                   "已经解决了不用", "自己修好了", "已经好了不用", "取消工单", "取消那个", "不用办了", "撤了吧", "撤单",
                   "撤了", "单子不用了", "那个单不用", "给撤了", "撤一下", "撤吧"),
    Act.PROGRESS: ("进度", "进展", "咋样了", "怎么样了", "处理得怎么样", "有结果了吗", "有结果没", "办得咋样",
                   "到哪一步", "处理了没", "处理了吗", "有人管没", "有没有人管", "什么时候来", "啥时候来", "啥时候修",
                   "什么时候修", "查一下", "查查", "我反映的", "上次反映", "上周反映", "前几天反映", "说的那个事",
                   "反映的那个", "工单", "单号", "回复了没", "怎么还没", "咋还没", "还没人来", "还没来修", "反映过",
                   "报过", "之前反映", "打电话反映", "在这查", "查进度", "查下", "查一查", "有人来看没", "有人来没",
                   "办了没", "给个码", "查询码"),
    Act.SATISFIED: ("满意", "很满意", "非常满意", "弄好了", "修好了", "解决了", "已解决", "好了谢谢", "挺好", "不错",
                    "谢谢你们", "给你们点赞", "点赞", "辛苦了", "处理得好", "效率高", "好评", "可以了", "没问题了",
                    "通了", "来水了", "热了", "亮了", "清走了", "拆了"),
    Act.UNSATISFIED: ("不满意", "还是老样子", "没修好", "没解决", "没有解决", "没人来", "一直没来", "还没修",
                      "又坏了", "还是不行", "跟没修一样", "糊弄", "敷衍", "没效果", "不管用", "还是没", "还是不",
                      "根本没", "没弄好", "又开始了", "差评", "不行", "没变化", "照旧", "不算解决", "不算修好",
                      "不算好", "不算数", "还是黑", "还是有", "还是臭", "还是吵", "还是漏", "还是堵", "还是冷",
                      "又冲开", "又坏", "又漏", "又堵", "又吵", "又不亮", "仍然", "依然", "照样", "应付", "没管用",
                      "白修", "瞎修", "填了填", "一点没变"),
    Act.SIGN: ("同意", "支持", "算我一个", "我也签", "签", "签名", "可以签", "加我一个", "我参加", "参加", "加上我",
               "我同意", "赞成", "我也是", "也算我", "带我一个", "联名", "签吧", "签上", "我签", "签一个", "给我签上",
               "+1", "加一", "算俺一个", "俺也签", "俺签"),
    Act.DECLINE: ("不签", "不参加", "不同意", "不支持", "算了", "不了", "不要", "我不签", "不想签", "0"),
    Act.PRIVACY: ("会不会被别人看到", "别人能看到", "被看到", "会公开", "公开吗", "保密吗", "泄露", "泄漏", "个人信息",
                  "我的名字", "我的信息", "隐私", "会不会知道是我", "知道是我", "暴露", "被人知道", "实名"),
    Act.CONFIDENTIAL: ("不要透露", "别透露", "保密", "匿名", "别说是我", "不要说是我", "不想让人知道", "替我保密",
                       "不要告诉", "别告诉", "不留名"),
    Act.GREETING: ("你好", "您好", "在吗", "在不在", "有人吗", "喂", "hello", "hi", "哈喽", "早上好", "晚上好",
                   "能听见吗", "能听到吗", "听得见吗", "听得到吗", "试一下", "试试", "测试一下", "喂喂",
                   "下午好", "嗨"),
    Act.THANKS: ("谢谢", "感谢", "多谢", "麻烦你们了", "麻烦恁了", "辛苦", "谢了", "谢谢啦", "好的谢谢", "谢谢恁",
                 "费心了", "劳驾"),
    Act.CLOSING: ("知道了", "收到", "记下了", "记住了", "明白了", "晓得了", "懂了", "了解了", "那好", "好吧", "那行",
                  "行吧", "那中", "中吧", "再等等", "等等看", "先等着", "等着吧", "等消息", "等你们消息", "忙吧",
                  "恁忙", "你们忙", "不打扰了", "就这样吧", "先这样", "没别的事", "没啥事了", "我去问问", "我自己去",
                  "我去办", "我去找", "拜拜", "再见", "原来是这样", "好嘞", "中嘞", "那就好"),
    Act.URGE: ("催催", "多催", "催一下", "催一催", "帮忙催", "给催", "催促", "督促", "快点", "赶紧", "尽快", "抓紧",
               "快来", "快派", "速来", "赶快", "早点", "麻烦快", "抓点紧",
               "快些", "快着点"),
    Act.WHEN: ("还要几天", "还得几天", "啥时候", "什么时候", "多久", "几天能", "多长时间", "要等多久", "哪天能",
               "几时"),
    Act.HELP: ("帮助", "怎么用", "菜单", "help", "使用说明", "能干啥", "能做什么", "怎么反映", "咋反映"),
    Act.CORRECTION: ("不对", "说错了", "打错了", "改一下", "改成", "应该是", "是在", "不是这", "更正", "重新说"),
    Act.NOT_SURE: ("不知道", "不清楚", "说不上来", "说不清", "不太清楚", "记不清", "不晓得", "不知道具体",
                   "具体不知道"),
    Act.NOT_HELPFUL: ("没用", "没帮助", "不管用", "还是不行", "没解决", "不是这个", "我要反映", "我要投诉", "帮我反映",
                      "帮我登记", "登记一下", "我要报", "帮我报", "还是要反映", "不是问这个"),
    Act.REPORT: ("我要反映", "我要投诉", "我想反映", "我想投诉", "反映个事", "反映一下", "投诉一下", "我要举报",
                 "想举报", "报个事", "有个情况"),
    Act.HUMAN: ("人工", "转人工", "真人", "机器人", "听不懂", "你是机器", "客服"),
}

_SHORT = 12  # the yes/no/greeting acts count only in a short message: in a long one they are words of the story
_SHORT_ACTS = frozenset({Act.YES, Act.NO, Act.GREETING, Act.THANKS, Act.DECLINE, Act.SIGN, Act.HELP,
                         Act.NOT_SURE, Act.SATISFIED, Act.UNSATISFIED, Act.CLOSING})
_PUNCT = re.compile(r"[\s，。！？、,.!?~～…：:；;\"'“”‘’（）()]+")
# Around a one-character answer: 那中, 哦好, 是哩, 中嘞, 对啊, 签吧.
_BEFORE = "那哦噢喔嗯呃啊俺我也就"
_AFTER = "哩嘞啊呀吧了的哈呢嘛哇啦喽呗"
# What a closing or an acknowledgement may hold besides its cues: pronouns, particles, small words.
_HMM = re.compile(r"[嗯恩]{1,3}[。.!！~～]*|en+")
_SMALL = re.compile(r"[那哦噢喔嗯呃啊哩嘞呀吧了的哈呢嘛哇啦喽呗俺我们恁你您就也先再这个]")


@dataclass(frozen=True, slots=True)
class Acts:
    """The acts a message may be, those of its first phrase, and how long its words are (no punctuation)."""

    found: frozenset[Act]
    length: int
    plain: str
    lead: frozenset[Act] = frozenset()  # the acts of the first phrase (对，就是这个事: yes, whatever follows)
    rest: str = ""  # the words that are no act's cue, nor a particle or pronoun
    anywhere: frozenset[Act] = frozenset()  # the acts of every phrase, however long the message (ratings)

    def __contains__(self, act: object) -> bool:
        return act in self.found

    @property
    def short(self) -> bool:
        """A reply of a few words (好的, 不用了, 算我一个), not a story."""
        return self.length <= _SHORT

    @property
    def bare(self) -> bool:
        """Acts and nothing else: no word of a matter (好吧 那我再等等, 中，俺记下了)."""
        return bool(self.found) and len(self.rest) <= 2


@cache
def _lexicon() -> Lexicon:
    # Spelled, not by sound: short function words sound like too much else (车掉的土 is no 撤掉).
    return Lexicon({act.value: terms for act, terms in _CUES.items()}, by_sound=False)


_ONE_WORD = {Act.YES: {"是", "对", "好", "行", "中", "嗯", "1"}, Act.NO: {"不", "没", "否"}, Act.SIGN: {"签"},
             Act.DECLINE: {"0"}}


def _one_character(phrase: str) -> set[Act]:
    """The acts of a phrase that is one answer character with what people put around it (那中, 是哩, 对对)."""
    core = phrase.lstrip(_BEFORE) or phrase
    core = core.rstrip(_AFTER) or core
    if not core or len(set(core)) != 1 or len(core) > 3:
        return set()
    return {act for act, words in _ONE_WORD.items() if core[0] in words}


def _hits(plain: str) -> list[Hit]:
    """The cues of two characters or more in `plain` (one-character ones count only as a phrase of their own)."""
    return [hit for hit in _lexicon().scan(plain) if len(hit.term) > 1
            # 停了就算了，还……: "is one thing", not "never mind"
            and not (hit.term == "算了" and plain[max(0, hit.start - 1):hit.start] == "就")]


def _phrase_acts(phrase: str) -> set[Act]:
    return {Act(hit.label) for hit in _hits(phrase)} | _one_character(phrase)


@lru_cache(maxsize=4096)
def acts_of(text: str) -> Acts:
    """The acts `text` may be (remembered per process: the steps of one message each ask, about twice in all)."""
    if _HMM.fullmatch(text.strip()):
        return Acts(frozenset({Act.YES}), 1, "嗯", frozenset({Act.YES}))  # the reading drops it as a filler
    reading = normalise_for_reading(text)
    phrases = [p for p in _PUNCT.split(reading) if p]
    plain = "".join(phrases)
    found: set[Act] = set()
    rest: list[str] = []
    for n, phrase in enumerate(phrases):
        single = _one_character(phrase)
        if n == 0 and not single and phrase[0] in _ONE_WORD[Act.YES] and _phrase_acts(phrase[1:].lstrip(_AFTER)):
            single, phrase = {Act.YES}, phrase[1:]  # 中，麻烦你们了 written without the comma
        found |= single
        if single:
            continue
        hits = _hits(phrase)
        found |= {Act(hit.label) for hit in hits}
        covered = set().union(*(range(hit.start, hit.end) for hit in hits)) if hits else set()
        rest.append("".join(c for i, c in enumerate(phrase) if i not in covered))
    lead = _phrase_acts(phrases[0]) if phrases else set()
    if phrases and phrases[0][0] in _ONE_WORD[Act.YES] and _phrase_acts(phrases[0][1:].lstrip(_AFTER)):
        lead.add(Act.YES)
    anywhere = set(found)
    if len(plain) > _SHORT:
        found -= _SHORT_ACTS
    found |= lead & {Act.YES, Act.NO, Act.SIGN, Act.DECLINE, Act.SATISFIED, Act.UNSATISFIED, Act.CLOSING}
    for act, words in _ONE_WORD.items():
        if plain in words:
            found.add(act)
    if Act.NO in found and Act.YES in found and plain.startswith(("不", "没")):
        found.discard(Act.YES)  # 不对 / 不行 / 没问题?: see below
    if plain in ("没问题", "没事", "没错"):
        found = (found - {Act.NO}) | ({Act.YES} if plain != "没事" else set())
    return Acts(frozenset(found), len(plain), plain, frozenset(lead), _SMALL.sub("", "".join(rest)),
                frozenset(anywhere))
