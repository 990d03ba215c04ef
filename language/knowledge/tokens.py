"""Index terms of a text: words (jieba, with the base's own terms), character bigrams and phonetic bigrams.

Citizens type with typos and dictate through speech recognition, which breaks words and writes homophones
(公鸡金 for 公积金, 居住正 for 居住证): the character bigrams still meet the right entry when a word is
split wrongly, and a bigram of sounds (language/phonetic.py: gong-ji, ji-jin) meets it when the characters are wrong.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Sequence

import jieba

from language.phonetic import key as phonetic_key
from language.text import normalise

# jieba prints its dictionary loading to stderr at DEBUG level: not ours to show.
jieba.setLogLevel(logging.WARNING)

_HAN_RUN = re.compile(r"[\u3400-\u9fff]+")
_WORDISH = re.compile(r"[\u3400-\u9fffa-z0-9]")
# Characters that carry no subject: particles, pronouns, the Henan and spoken fillers. A bigram with one
# of them is no evidence of what is asked about.
FUNCTION_CHARS = frozenset("的了吗呢啊吧呀哩嘞哈嗯呃哦噢喂嘛么俺我你您恁咱他她它们这那个")
# Spoken and polite fillers that recognition and manners add to any message.
_STOP_BIGRAMS = frozenset([
    "就是", "然后", "请问", "问问", "想问", "麻烦", "谢谢", "你好", "您好", "一下",
    "现在", "知道", "什么", "怎么", "一个", "还是", "是不", "不是", "就说", "说是",
    "那个", "这个", "就是说", "是说", "然后然后",
])
class Tokeniser:
    """Turns a text into index terms; the same for the entries and for what a citizen sends."""

    def __init__(self, lexicon: Iterable[Sequence[str]] = (), *, words: bool = True, phonetic: bool = True) -> None:
        self._phonetic = phonetic
        # Each word of a group stands for the group's first ("合作医疗" for "新农合").
        self.synonyms = {word: group[0] for group in lexicon for word in group}
        self._jieba = jieba.Tokenizer() if words else None
        if self._jieba is not None:
            self._jieba.initialize()
            for word in self.synonyms:
                # The base's terms are words even when jieba's dictionary splits them (新农合, 老年卡).
                self._jieba.add_word(word)

    @staticmethod
    def reading(char: str) -> str:
        """The character's sound as language/phonetic.py keys it (zh/z, ing/in and the like folded)."""
        return phonetic_key(char)

    def words(self, text: str) -> list[str]:
        """The subject words of a normalised text (jieba), without particles, pronouns and fillers."""
        if self._jieba is None:
            return []
        synonyms = self.synonyms
        return [synonyms.get(w, w) for w in self._jieba.lcut(text, HMM=False)
                if _WORDISH.match(w) and not (len(w) == 1 and w in FUNCTION_CHARS) and w not in _STOP_BIGRAMS]

    def terms(self, text: str) -> list[str]:
        """Every index term of `text`, repeated as often as it occurs: `w:` words, `b:` bigrams, `p:` readings."""
        text = normalise(text)
        out = [f"w:{w}" for w in self.words(text)]
        for run in _HAN_RUN.findall(text):
            for a, b in zip(run, run[1:], strict=False):
                if a in FUNCTION_CHARS or b in FUNCTION_CHARS or a + b in _STOP_BIGRAMS:
                    continue
                out.append(f"b:{a}{b}")
                if self._phonetic:
                    out.append(f"p:{phonetic_key(a + b)}")
        return out
