"""Place text, normalised without moving a character: offsets into it are offsets into what the citizen wrote."""

from __future__ import annotations

import re

from language.places.trie import trie_pattern

# Full-width digits and letters (what Chinese keyboards type: １２号, Ａ座) to half-width, the ideographic space
# to a space, upper case to lower: one character for one, so a match's start and end hold in the original text.
# Full-width punctuation stays (the patterns read both kinds).
_WIDTH = {code: ord(chr(code - 0xFEE0).lower()) for code in range(0xFF01, 0xFF5F) if chr(code - 0xFEE0).isalnum()}
_WIDTH[0x3000] = 0x20
_WIDTH.update({code: code + 32 for code in range(ord("A"), ord("Z") + 1)})
# Traditional characters people type (a phone set to traditional, a message from Hong Kong or Taiwan) to the
# simplified ones the gazetteer is written in: the characters of addresses and of the words around them.
_TRADITIONAL = (
    "區縣鄭號樓門東場園廣橋醫學華陽鎮鄉莊車單層棟館廳買賣電燈開關過這裡裏邊對後頭處辦務業環龍灣寶貿匯興豐濟滎鞏"
    "陸鐵軌線廠庫廟蘭條個們幾為從進運遠連達還讓說請問題給經緯紅農體會師範護衛顧將帶歸靈鳳臺圓書職貨雙動產權價錢"
    "費氣熱飯銀郵遞藥黃漢陳劉張楊趙鄧葉孫馬齊閻劉鄒衚衕鋪營寨堡嶺巖峽灘溝澗塘湯灣滬豫魯蘇淵濱淩滿潤澤潔濕漁漲"
    "區廈機際場館廣島莊碼頭綠雲藝術壇樹標樣條極權廣學實寫寬寧審專導鄰鄉郵鐘鎖鏈長門問閘閒間闊隊陽陰階際隱隨險雖雞"
    "雜離難電霧靜韓頁頂項順須預領頻題顏願顯風飛飲養餘館馬驗體鬧魚鳥鳴麥黨點齒龜區級紀約紙細終組結絡給統絲綠維綱網"
    "緊線練縣總繁織繩繼續罰聖聞聯聲肅脅腦腳臉臨興舉舊艙艦莊華萬葉著蓋蘇蘭虛號蟲衝補裝製複襲見規視覽親觀觸計訂認討"
    "訓記訪設許診證評詞試詳語誤說誰課調談請諸謝證識護讀變讓貝負財貢貧貨販責貫貴買費貼賀資賓賠賣賴賺購賽趕趨跡踐蹤"
    "車軍軟載較輕輛輝輪輸轉辦農遠適遷選遺邊郵鄉醫釋針釣鈔鉛銀銅銷鋼錄錢錯鍋鍵鎖鎮鏡鐵鑰門閃閉開閑間閱闆阻陣陳陸陽"
)
_SIMPLIFIED = (
    "区县郑号楼门东场园广桥医学华阳镇乡庄车单层栋馆厅买卖电灯开关过这里里边对后头处办务业环龙湾宝贸汇兴丰济荥巩"
    "陆铁轨线厂库庙兰条个们几为从进运远连达还让说请问题给经纬红农体会师范护卫顾将带归灵凤台圆书职货双动产权价钱"
    "费气热饭银邮递药黄汉陈刘张杨赵邓叶孙马齐阎刘邹胡同铺营寨堡岭岩峡滩沟涧塘汤湾沪豫鲁苏渊滨凌满润泽洁湿渔涨"
    "区厦机际场馆广岛庄码头绿云艺术坛树标样条极权广学实写宽宁审专导邻乡邮钟锁链长门问闸闲间阔队阳阴阶际隐随险虽鸡"
    "杂离难电雾静韩页顶项顺须预领频题颜愿显风飞饮养余馆马验体闹鱼鸟鸣麦党点齿龟区级纪约纸细终组结络给统丝绿维纲网"
    "紧线练县总繁织绳继续罚圣闻联声肃胁脑脚脸临兴举旧舱舰庄华万叶着盖苏兰虚号虫冲补装制复袭见规视览亲观触计订认讨"
    "训记访设许诊证评词试详语误说谁课调谈请诸谢证识护读变让贝负财贡贫货贩责贯贵买费贴贺资宾赔卖赖赚购赛赶趋迹践踪"
    "车军软载较轻辆辉轮输转办农远适迁选遗边邮乡医释针钓钞铅银铜销钢录钱错锅键锁镇镜铁钥门闪闭开闲间阅板阻阵陈陆阳"
)
_WIDTH.update({ord(t): ord(s) for t, s in zip(_TRADITIONAL, _SIMPLIFIED, strict=True)})

# What speech recognition and hurried typing make of the words that carry a place, each to a word of the same
# length (小区 heard as 小去, 路口 as 路扣). Only the words whose misheard form means nothing else are here.
MISHEARD: dict[str, str] = {
    "小去": "小区",
    "小趋": "小区",
    "晓区": "小区",
    "社去": "社区",
    "路扣": "路口",
    "路寇": "路口",
    "路叩": "路口",
    "交叉扣": "交叉口",
    "号搂": "号楼",
    "号喽": "号楼",
    "单原": "单元",
    "单圆": "单元",
    "单园": "单元",
    "家属园": "家属院",
    "家数院": "家属院",
    "街到": "街道",
    "东们": "东门",
    "西们": "西门",
    "南们": "南门",
    "北们": "北门",
    "派出锁": "派出所",
    "医远": "医院",
    "公圆": "公园",
    "广厂": "广场",
}


_HEARD = re.compile(trie_pattern(MISHEARD))
_TO_CHANGE = re.compile("[" + re.escape("".join(map(chr, _WIDTH))) + "]")


def normalise_place_text(text: str) -> str:
    """`text` with full-width forms, capitals, traditional characters and misheard place words fixed (same length)."""
    out = text.translate(_WIDTH) if _TO_CHANGE.search(text) else text  # translate is slow: only when needed
    if _HEARD.search(out) is None:
        return out
    return _HEARD.sub(lambda match: MISHEARD[match.group()], out)


_DIGITS = {
    "零": 0, "〇": 0, "一": 1, "幺": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9,
}
_UNITS = {"十": 10, "百": 100, "千": 1000}
NUMERAL_CHARS = "零〇一幺二两三四五六七八九十百千"


def number_value(written: str) -> int | None:
    """The value of a house or building number written in digits or Chinese numerals (十二, 一百三十九, 一三九)."""
    if written.isdigit():
        return int(written)
    if not written or any(c not in _DIGITS and c not in _UNITS for c in written):
        return None
    if not any(c in _UNITS for c in written):  # read digit by digit: 一三九 is 139
        return int("".join(str(_DIGITS[c]) for c in written))
    total, current = 0, 0
    for char in written:
        if char in _DIGITS:
            current = _DIGITS[char]
        else:
            total += (current or 1) * _UNITS[char]
            current = 0
    return total + current
