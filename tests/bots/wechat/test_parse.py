"""The fast path of `parse_xml` (ElementTree) gives exactly what xmltodict gives, or steps aside."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest
import xmltodict

from bots.wechat.parse import _plain_fields

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "wechat"
PIECES = [
    "<A>x</A>", "<A> x </A>", "<A/>", "<A></A>", "<B><![CDATA[ c ]]></B>", "<C>1</C><C>2</C>", "<C>3</C>",
    "<L><List><T>1</T></List><List><T>2</T></List></L>", "<L><List><T>1</T></List></L>", "text", "  \n ",
    "<!-- comment -->", "<?pi data?>", "&amp;", "&lt;&#20013;", "<D a='1'>x</D>", "<E>a<F>b</F>c</E>",
    "<G><H/></G>", "<G><H/>tail</G>", "<x:y>1</x:y>", "<I>中文 &gt;</I>", "<J>a<!--c-->b</J>", "<K>\r\n</K>",
    "<M><N><O><P><Q><R><S><T><U>deep</U></T></S></R></Q></P></O></N></M>", "&undefined;", "<bad", "]]>",
    "<V>x]]>y</V>", "<W><![CDATA[a]]>b<![CDATA[c]]></W>", "<X xmlns:p='u'>1</X>", "<Y><![CDATA[<!DOCTYPE]]></Y>",
]
PROLOGS = ["", '<?xml version="1.0" encoding="UTF-8"?>', '<?xml version="1.0" encoding="GBK"?>', "\ufeff", " ",
           '<?xml version="1.0" encoding="ISO-8859-1"?>']


def _same_as_xmltodict(text: str) -> bool:
    """True when the fast path answered (and agreed); False when it left the document to xmltodict."""
    fast = _plain_fields(text)
    if fast is None:
        return False
    expected = xmltodict.parse(text, disable_entities=True)  # the fast path only takes what expat accepts
    assert json.dumps(fast, ensure_ascii=False) == json.dumps(expected, ensure_ascii=False), text
    return True


@pytest.mark.parametrize("path", sorted(FIXTURES.glob("*.xml")), ids=lambda p: p.stem)
def test_fixtures(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    if "<!DOCTYPE" in text:
        assert _plain_fields(text) is None  # a DTD is never given to ElementTree
    else:
        assert _same_as_xmltodict(text)


def test_generated_documents() -> None:
    rnd = random.Random(20261123)
    taken = 0
    for _ in range(3000):
        body = "".join(rnd.choice(PIECES) for _ in range(rnd.randint(0, 6)))
        root = rnd.choice(["xml", "xml", "root"])
        tail = rnd.choice(["", "\n", "<!-- c -->", "x", "<xml/>"])
        taken += _same_as_xmltodict(f"{rnd.choice(PROLOGS)}<{root}>{body}</{root}>{tail}")
    assert taken > 500  # the plain shapes do take the fast path


def test_deep_nesting_is_left_to_xmltodict() -> None:
    assert _plain_fields("<xml>" + "<a>" * 5000 + "x" + "</a>" * 5000 + "</xml>") is None
