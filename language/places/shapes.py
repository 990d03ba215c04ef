"""The shapes places are written in: roads, numbers, junctions, compounds, facilities, buildings, positions.

The gazetteer knows the city's names; these patterns find the places it does not know by their shape
(…路, …小区, …家属院, 3号楼2单元, 路口往北一百米), on text already passed through `normalise_place_text`.
"""

from __future__ import annotations

import re

from language.places.normal import NUMERAL_CHARS
from language.places.trie import trie_pattern

# Characters that never stand inside a place's name: particles, pronouns, measure words, the verbs and
# adverbs that come right before a place (住在, 就在, 靠近), and the words of an address's own parts.
_STOP = (
    "的了是我你他她它们这那哪个条有没不就也都还与跟及或往向从到去来说要想让被把给很太"
    "呢吗吧啊呀嘛哦嗯噢哈咋啥么呐哩嘞恁俺咱您谁得着过住在靠离对朝沿为因所但而并又再才只刚已每各某些"
    "家边旁附侧县号楼层单元栋幢室门口路街道座间块片段根辆堵坏修挖吵脏臭乱找问叫看走坐乘等停搬买租卖"
    "收反映投诉举议请谢喂啦嘿哎唉呗咯"
)
NAME_STOPS = frozenset(_STOP)
# A road's name never holds 区, 市 or 省 (金水区花园路 is a district and a road).
ROAD_NAME_STOPS = NAME_STOPS | frozenset("区市省和")  # and 和 joins two roads (a name may hold it: 祥和小区)
NUMBER = f"(?:[0-9]+|[{NUMERAL_CHARS}]+)"


def name_start(norm: str, end: int, stops: frozenset[str], longest: int) -> int:
    """Where the name that ends at `end` begins: back over ideographs that are not stops, at most `longest`."""
    start = end
    floor = max(0, end - longest)
    while start > floor and "\u4e00" <= norm[start - 1] <= "\u9fff":
        if norm[start - 1] not in stops:
            start -= 1
        elif norm[start - 2 : start] in ("铁路", "公路") and start - 2 >= floor:  # words, not roads: 铁路家属院
            start -= 2
        else:
            break
    return start


# What ends a compound's name read forwards after its developer's (建业|森林半岛|那个): fewer stops than
# backwards, since such names hold 家, 门, 城 (鑫苑名家, 正商智慧城).
NAME_END_STOPS = frozenset(
    "的了是在我你他她们这那个有没不就也都还与跟往向从到去来说要想让被把给很太呢吗吧啊呀嘛哦嗯恁俺咱号楼单元栋"
)


def name_end(norm: str, start: int, limit: int) -> int:
    """Where the name that begins at `start` ends: over ideographs that are not stops, up to `limit`, and
    before the words of a position (绿城百合|东门, 鑫苑名家|门口)."""
    end = start
    while end < limit and "\u4e00" <= norm[end] <= "\u9fff" and norm[end] not in NAME_END_STOPS:
        end += 1
    position = _POSITION_IN_NAME.search(norm, start, end)
    return position.start() if position is not None else end


_POSITION_IN_NAME = re.compile("[东西南北](?:门|边|侧|面|头|角)|大门|门口|路口|对面|旁边|附近|楼下|后头|后面|前面")


ROAD_SUFFIXES = ("大道", "大街", "路", "街", "巷", "胡同")
# …路 that is a road in general, not a road's name (过马路, 水泥路, 58路 is a bus line).
NOT_ROAD_NAMES = re.compile(
    f"^(?:[{NUMERAL_CHARS}]+|.*(?:[马公铁道]|交叉|十字|丁字)|水泥|柏油|步行|美食|小吃|商业|高速|环城)$"
)
# A direction inside a road's name (文化北路): a stretch of the road named without it, when that is known.
DIRECTED_ROAD = re.compile("^(?P<stem>.{2,})[东西南北中](?P<suffix>大道|大街|路|街)$")
# The end of a road's name (not 路灯, 路线, 路费: words of their own); the name is read backwards from it.
ROAD_SUFFIX = re.compile("(?:大道|大街|胡同|路|街|巷)(?!灯|线|费|况|牌|程|途|径|数|人|子)")
ROAD_NAME_LONGEST = 5
# What may follow the name of a road the gazetteer does not know: a number, a junction, a position, a
# particle, a facility; not another word (水箱路水顺着墙: 漏水 misheard, no road).
ROAD_FOLLOWERS = frozenset("号口与和跟同及交上边旁那这的附东西南北往向朝段中里一街办菜")

# A compound (where people live) by the word that ends its name.
COMPOUND_SUFFIXES = (
    "小区", "家属院", "家属楼", "家属区", "宿舍区", "宿舍楼", "宿舍", "花园", "家园", "新村", "社区", "公寓",
    "花苑", "名苑", "雅苑", "嘉园", "华庭", "华府", "公馆", "山庄", "小镇", "新城", "大院", "苑", "府",
)
# A facility or landmark by the word that ends its name (…医院, …小学, …菜市场, …派出所).
FACILITY_SUFFIXES = (
    "医院", "卫生院", "卫生服务中心", "诊所", "小学", "中学", "高中", "初中", "幼儿园", "学校", "大学", "学院",
    "公园", "游园", "广场", "菜市场", "农贸市场", "批发市场", "市场", "商场", "超市", "购物中心", "派出所",
    "地铁站", "公交站", "汽车站", "客运站", "火车站", "加油站", "充电站", "停车场", "站", "银行", "天桥", "立交桥",
    "大桥", "桥", "体育场", "体育馆", "图书馆", "博物馆", "电影院", "大酒店", "酒店", "宾馆", "大厦", "写字楼",
    "产业园", "科技园", "工业园", "物流园", "中心", "厂", "河", "湖", "渠", "居委会", "村委会", "管委会", "法院",
)
# A street office or township by its ending (白沙镇, 龙湖镇).
OFFICE_SUFFIXES = ("街道办事处", "街道办", "街道", "办事处", "镇", "乡")
VILLAGE_SUFFIXES = ("村",)

SUFFIX_KIND: dict[str, str] = {
    **{s: "compound" for s in COMPOUND_SUFFIXES},
    **{s: "landmark" for s in FACILITY_SUFFIXES},
    **{s: "street_office" for s in OFFICE_SUFFIXES},
    **{s: "village" for s in VILLAGE_SUFFIXES},
}
# Longest first, so that a name's ending is read whole (幼儿园, not 园; 家属院, not 院).
SUFFIXES_LONGEST_FIRST = tuple(sorted(SUFFIX_KIND, key=len, reverse=True))
# The ends of such names; the name is read backwards from them (at most NAME_LONGEST characters).
NAME_SUFFIX = re.compile(f"(?:{trie_pattern(SUFFIX_KIND)})(?!南省|北省)")
NAME_LONGEST = 8
# Names made of these are words, not places (城中村, 农村, 这个小区 never gets here: 这个 are stops).
NOT_NAMES = frozenset({
    "城中", "物业", "开发", "施工", "建筑", "工程", "服务", "活动", "公交车", "公交", "地铁", "出租车", "快递",
    "老旧", "高档", "居民", "商品房", "回迁", "安置", "拆迁", "老年", "社区", "小区", "住宅", "新建",
})
# Words that end where a name begins: what comes before them is not part of the name (孩子明年上|小学).
NAME_BREAKERS = re.compile(
    "孩子|老人|明年|今年|去年|现在|今天|昨天|前天|晚上|早上|中午|天天|一直|已经|还是|就是|然后|但是|因为|所以|"
    "如果|关于|对于|整个|所有|附近|周边|隔壁|对面|旁边|几个|这些|那些|我们|你们|他们|咱们|俺们|上个|下个"
)
# A verb right before a school (上小学, 读中学) makes it a school in general, not one school.
VERB_BEFORE = frozenset("上读念考进")
# …府 is a compound (悦澜府), but not 政府, 王府, 官府.
NOT_NAME_ENDS = ("政", "王", "官", "首", "出", "进")  # and 出站, 进站 are no stations

# A facility word right after a road: 伊河路菜市场, 文化路派出所, 东风路地铁站.
FACILITY_AFTER_ROAD = re.compile(trie_pattern(FACILITY_SUFFIXES + COMPOUND_SUFFIXES))
# A house number right after a road: 花园路139号, 建设路128号院, 大学路一百号 (not 3号楼: a building).
NUMBER_AFTER_ROAD = re.compile(f"\\s*(?P<number>{NUMBER})\\s*号(?P<yard>院)?(?!楼)")
# Between two roads of a junction: 文化路与农业路, 中原路和嵩山路, 丰产路东明路 (nothing).
JOIN = re.compile(r"\s*(?:那个|这个)?\s*(?:与|和|跟|同|及|、|/|／|\+|＋|交)?\s*")
# The junction's own word after the second road: 交叉口, 路口, 口, 十字路口, "那个路口".
JUNCTION = re.compile(
    r"\s*(?:(?:的|那个|这个)\s*(?=路口|十字|交叉))?(?:交叉路口|交叉口|交汇处|交汇口|十字路口|十字|路口|交口|口)"
)
# 花园路街道: a road's name before 街道 is the street office's name.
OFFICE_AFTER_ROAD = re.compile(r"(?:街道办事处|街道办|街道|办事处)")

# A building, its entrance (单元), floor and flat: 3号楼2单元, 5栋, 十二号楼, 12号楼3单元501, 2单元.
_UNIT = "(?P<{}>" + NUMBER + "|[东西南北中])\\s*(?:单元|门洞)"
_FLAT = "(?:\\s*(?P<{}>[0-9]{{3,4}})\\s*(?:室|号|户)?)?"
BUILDING = re.compile(
    f"(?<![0-9])(?:(?P<building>{NUMBER}|[a-z])\\s*(?:号楼|栋|幢|座|号(?=\\s*{NUMBER}\\s*单元))"
    f"(?:\\s*{_UNIT.format('unit')})?(?:\\s*(?P<floor>{NUMBER})\\s*(?:楼|层)(?!下|上|顶))?{_FLAT.format('flat')}"
    f"|{_UNIT.format('unit_only')}{_FLAT.format('flat_only')})"
)

# Where exactly, said after the place: 东门, 门口, 对面, 附近, 往北一百米, 东北角, 北段, 楼顶.
_DISTANCE = f"(?:大约|大概|约)?(?:[0-9]+|[{NUMERAL_CHARS}几]+)\\s*多?\\s*(?:米|公里|步)"
_SIDE = "(?:东北|东南|西北|西南|[东西南北])"
_POSITION = (
    f"(?:往|向|朝){_SIDE}(?:走|拐)?(?:{_DISTANCE})?"
    f"|{_SIDE}(?:方向|大门|侧门|门口|门|边|面|侧|头|角|段|出口|入口|广场|出站口|进站口)"
    "|出站口|进站口|出口|入口|[a-z0-9]口|大门口|大门|正门|后门|侧门|门口|对面|对过|旁边|边上|附近|周边|一带|拐角|"
    "路边|楼下|楼顶|楼上|底下|桥下|桥底下|下面|里面|里头|后面|前面|背后|隔壁|那一片|这一片|那一段|这一段"
)
# After a road or junction, also the compound itself, unnamed, that stands on it (顺城街那个家属院北门).
_PART = _POSITION + "|家属院|家属楼|小区|院里|院子"
_FILLER = "(?:\\s|的|那个|这个|那|这)*"
RELATIVE = re.compile(f"{_FILLER}(?P<relative>(?:{_PART})(?:{_FILLER}(?:{_PART}))*)")
# Anywhere in a message (for `relative_part`): the position alone.
RELATIVE_ANYWHERE = re.compile(f"(?P<relative>(?:路口|{_POSITION})(?:{_FILLER}(?:{_POSITION}))*)")
# Before a name found by its shape: an indefinite one (一家食品厂, 有个小区) is not a place that can be found.
INDEFINITE_BEFORE = re.compile("(?:一家|一个|一所|一座|一栋|一片|有个|有家|某个|某|哪个|哪家)$")

# Around an ambiguous name standing alone (上街, 二七, 东区, 新郑): a word boundary before it (the start, a
# punctuation mark, a particle or a verb like 在), and after it a word that makes it a place.
WORD_BOUNDARY_BEFORE = re.compile(f"(?:^|[^\\u4e00-\\u9fff]|[{_STOP}])$")
PLACED_AFTER = re.compile(
    r"\s*(?:这|那|的(?!时候)|一带|附近|一家|一个|一所|村|镇|俺|我|咱|也|都|还|上班|工作|打工|干活|开店|住|"
    r"[，,。.！!？?；;]|$)"
)
