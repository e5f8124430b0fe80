"""Safety rules: small objects behind one narrow protocol, registered by kind in one dict.

A policy file lists which rule kinds it enables (`rules:`); each kind's factory turns the validated policy
config into rule objects. Built-ins go through the same registry an extension would
(`register_rule_kind("my_rule", factory)`).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol, runtime_checkable

from knowledge.types import Passage
from safety.pii import contains_pii
from safety.types import Answer, Question, Verdict

if TYPE_CHECKING:  # only for type hints; policy imports this module at run time
    from safety.classifier import RefusalClassifier
    from safety.policy import (
        ClassifierConfig,
        ComposeRule,
        InformationalGuard,
        InterceptGroup,
        PolicyConfig,
        RefusalCategory,
    )

ALLOW = Verdict(action="allow")
_ZERO_WIDTH = re.compile("[\u200b-\u200f\u2060-\u2064\ufeff\u00ad]")
_NON_WORD = re.compile(r"[\W_]+")
# Traditional → simplified for the characters the policies' patterns use, so "怎麼製作炸彈" cannot slip past
# patterns written in simplified Chinese. (A full converter would be a new dependency for little gain.)
_TRAD = (
    "麼么製制彈弹藥药槍枪殺杀買买賣卖錢钱詐诈騙骗偽伪僞伪證证據据處处幫帮搶抢們们這这會会為为個个沒没說说讓让"
    "給给開开門门樣样條条術术傷伤體体劑剂醫医療疗診诊斷断寫写詩诗聽听號号碼码與与對对發发現现將将學学應应"
    "關关間间動动國国無无種种從从過过進进還还點点後后實实權权機机險险萬万煉炼純纯錄录竊窃監监蹤踪裝装車车"
    "軌轨跡迹帳账盜盗隱隐轉转債债執执審审劃划辦办絕绝產产臟脏腎肾級级結结見见歲岁懷怀墮堕鑑鉴鑒鉴別别嗎吗"
    "氣气樂乐搖摇頭头鹼碱遺遗囑嘱鐵铁護护輕轻盡尽難难憂忧鬱郁癥症書书師师詢询讀读刪删電电話话麗丽殘残憑凭"
    "訴诉訟讼財财稅税貸贷詞词劇剧腳脚廣广綁绑撲扑熱热針针濟济嬰婴兒儿辭辞蘇苏麥麦黃黄鎮镇靜静鴉鸦張张範范"
    "雖虽錯错誤误識识別别網网絡络資资訊讯軟软件件數数據据庫库統统計计據据價价費费買买貨货單单據据紙纸筆笔"
    "員员職职業业勞劳務务廠厂礦矿場场區区縣县鄉乡鎮镇廳厅衛卫環环境境農农業业園园漁渔礙碍殘残疾疾聯联係系"
    "親亲屬属婦妇孫孙爺爷媽妈愛爱婚婚離离養养撫抚贍赡務务繼继承承遺遗囑嘱產产權权債债償偿賠赔償偿損损傷伤"
    "違违規规罰罚訴诉訟讼審审判判決决裁裁執执行行檢检察察偵侦查查監监獄狱罪罪犯犯嫌嫌疑疑辯辩護护律律師师"
    "條条款款項项則则規规範范條条例例憲宪經经濟济稅税務务銀银險险證证券券貿贸易易運运輸输郵邮電电訊讯廣广"
    "滅灭災灾爆爆炸炸雷雷管管燒烧燃燃瓶瓶噴喷霧雾劍剑彎弯鋼钢鐵铁鋁铝銅铜組组裝装改改造造焊焊鑄铸"
    "紅红綠绿藍蓝麵面飯饭湯汤飲饮餵喂醫医藥药處处方方劑剂量量癒愈瘡疮瘍疡腫肿瘤瘤癌癌膽胆腸肠腦脑臟脏"
    "嘔呕吐吐瀉泻燒烧發发熱热頭头痛痛咳咳嗽嗽喉喉嚨咙鼻鼻塞塞痠酸膚肤癢痒腎肾臟脏脈脉壓压糖糖尿尿"
    "療疗癒愈養养護护檢检驗验測测診诊斷断術术復复發发傳传染染毒毒疫疫苗苗預预防防殺杀菌菌"
    "懼惧慮虑煩烦悶闷憂忧傷伤絕绝望望輕轻生生盡尽殺杀跳跳樓楼割割腕腕吊吊燒烧炭炭"
    "這这那那誰谁麼么嗎吗呢呢吧吧啊啊還还沒没讓让給给會会將将能能該该須须應应當当與与及及或或"
    "麼么麽么裡里裏里隻只祇只乾干幹干亂乱憑凭緊紧鬆松穩稳韓韩寶宝貝贝賭赌錄录燈灯礎础處处"
)
# More traditional → simplified pairs (space separated), covering the vocabulary of harmful requests that
# the composed rules look for (攝像頭, 駭客, 竊聽, 毆打, 鴉片…) and common function words.
_TRAD_MORE = """
駭骇 攝摄 鏡镜 蹤踪 戶户 釣钓 魚鱼 毀毁 謊谎 贓赃 賄贿 賂赂 屍尸 躍跃 厭厌 鹽盐 壞坏 衝冲 擊击 襲袭 報报
毆殴 鬥斗 廢废 隊队 團团 夥伙 黨党 鏈链 織织 協协 議议 諮咨 達达 遞递 遠远 遲迟 適适 選选 邊边 連连 導导 專专
尋寻 層层 幣币 帶带 廁厕 強强 徑径 徹彻 態态 戲戏 戰战 採采 掃扫 掛挂 換换 揮挥 擋挡 擔担 擬拟 擴扩 攜携 敵敌
斃毙 時时 暫暂 東东 極极 標标 檔档 歡欢 歷历 歸归 溫温 滿满 漢汉 濃浓 濾滤 灣湾 煙烟 爐炉 爭争 牆墙 獎奖 獨独
獲获 畫画 疊叠 癮瘾 盤盘 眾众 禍祸 禮礼 稱称 積积 窮穷 競竞 節节 簡简 簽签 糧粮 紀纪 約约 細细 終终 絲丝 線线
練练 縱纵 總总 績绩 繩绳 續续 罷罢 聖圣 聞闻 聲声 臉脸 臨临 舉举 舊旧 艦舰 蘭兰 蟲虫 補补 複复 視视 覺觉 覽览
觸触 訂订 討讨 訓训 記记 設设 許许 註注 試试 詳详 誌志 認认 誘诱 語语 課课 請请 諾诺 謀谋 講讲 謝谢 譯译 變变
豐丰 負负 販贩 貪贪 貴贵 貼贴 賊贼 質质 購购 賽赛 贈赠 贏赢 趕赶 趨趋 踐践 軍军 較较 載载 輔辅 輪轮 迴回 釋释
鉛铅 銷销 鍵键 鎖锁 鐘钟 長长 閉闭 閱阅 闆板 陣阵 陰阴 陳陈 陸陆 階阶 際际 隨随 雙双 雜杂 雞鸡 靈灵 響响 頁页
順顺 領领 頻频 題题 顏颜 願愿 類类 顯显 風风 飛飞 飽饱 餘余 館馆 騎骑 騷骚 驚惊 髮发 鬧闹 鮮鲜 鳥鸟 齊齐 齒齿
龍龙 龜龟 鑰钥 蓋盖 僅仅 價价 億亿 儀仪 優优 兇凶 勁劲 勢势 勵励 匯汇 參参 叢丛 問问 啟启 喪丧 嚇吓 嚴严 圍围
圖图 壯壮 夢梦 奪夺 奮奋 寧宁 寵宠 豬猪 貓猫 戀恋 撥拨 擇择 敗败 殼壳 決决 況况 淚泪 淨净 淺浅 減减 濕湿 灑洒
烏乌 營营 爛烂 牽牵 狀状 猶犹 獸兽 畢毕 異异 瞞瞒 祕秘 穀谷 窩窝 竄窜 篩筛 籌筹 糾纠 紋纹 納纳 紛纷 紹绍 絞绞
綜综 維维 綱纲 緒绪 編编 緣缘 縮缩 繞绕 繳缴 罵骂 羅罗 義义 習习 聰聪 脅胁 脫脱 艱艰 莊庄 華华 葉叶 蘋苹 虛虚
蝕蚀 觀观 託托 誠诚 誣诬 諒谅 謠谣 譽誉 讚赞 貢贡 貫贯 貧贫 賀贺 賃赁 賬账 賴赖 贖赎 趙赵 蹟迹 輛辆 輩辈 轟轰
辯辩 週周 遊游 遙遥 鄰邻 鄭郑 醜丑 釀酿 鈔钞 鉤钩 鋪铺 錶表 鍋锅 鍊炼 鑽钻 閃闪 閒闲 闖闯 陽阳 雲云 頂顶 頸颈
顆颗 顧顾 飄飘 餓饿 駕驾 駛驶 驅驱 髒脏 魯鲁 齡龄 僱雇 傭佣 勸劝 厲厉 嘗尝 噁恶 惡恶 墜坠 徵征 慘惨 憤愤 懲惩
掙挣 揚扬 攔拦 擺摆 攤摊 斬斩 暈晕 曉晓 棄弃 榮荣 橋桥 櫃柜 歐欧 殲歼 氫氢 汙污 湧涌 滲渗 漲涨 潰溃 濫滥 獵猎
瘋疯 癱瘫 確确 磚砖 禦御 籤签 紮扎 緝缉 縫缝 繫系 罌罂 膠胶 藝艺 褲裤 覓觅 詭诡 諜谍 謎谜 豎竖 賺赚 輻辐 遷迁
邁迈 釘钉 銳锐 闊阔 頑顽 黴霉 鬍胡 辦办 嗎吗 兩两 亞亚 來来 侶侣 倆俩 偵侦 側侧 偷偷 備备 傢家 儘尽 兇凶 內内
剛刚 劃划 勝胜 區区 卻却 厭厌 吶呐 員员 啞哑 喚唤 喬乔 嗆呛 嘆叹 噴喷 嚨咙 囉啰 圓圆 塊块 塗涂 塵尘 墊垫 壺壶
奐奂 妳你 娛娱 婁娄 媧娲 嫻娴 孃娘 宮宫 寬宽 寢寝 將将 屆届 嶄崭 巔巅 帥帅 帳帐 幾几 廂厢 廚厨 廟庙 弔吊 彙汇
從从 復复 懶懒 懸悬 懺忏 戧戗 扠叉 挾挟 捨舍 捲卷 掄抡 揀拣 損损 搗捣 搾榨 摟搂 摯挚 撈捞 撐撑 撿捡 擁拥 擠挤
擬拟 擾扰 攏拢 攪搅 敍叙 斂敛 楊杨 業业 樂乐 樹树 檯台 歎叹 殘残 氣气 滄沧 滬沪 漁渔 潔洁 澆浇 濤涛 瀕濒 灤滦
烴烃 焰焰 燦灿 燭烛 爾尔 牠它 犢犊 狹狭 猙狰 獰狞 瑩莹 產产 甦苏 疇畴 痠酸 瘡疮 瘧疟 療疗 癒愈 癡痴 發发 盜盗
睏困 瞭了 矯矫 砲炮 碼码 礦矿 稅税 穩稳 窪洼 窯窑 筆笔 範范 篤笃 糰团 紡纺 絕绝 綑捆 緩缓 繡绣 罈坛 罰罚 聯联
肅肃 脹胀 腫肿 膩腻 臺台 艙舱 蒼苍 藥药 蘇苏 處处 號号 蠟蜡 衛卫 裝装 覆覆 親亲 訪访 詛诅 該该 誇夸 誕诞 誼谊
諷讽 謹谨 證证 譴谴 讓让 豔艳 貿贸 賦赋 賤贱 賭赌 趕赶 跡迹 踴踊 輛辆 輸输 轉转 辭辞 農农 這这 遺遗 郵邮 醞酝
鈍钝 鉀钾 銅铜 鋁铝 錄录 錢钱 鍛锻 鎮镇 鐵铁 閘闸 關关 陝陕 隸隶 雖虽 離离 難难 霧雾 靜静 韓韩 頒颁 頓顿 頭头
顛颠 颱台 餵喂 騙骗 驗验 骯肮 體体 鬆松 鹼碱 麗丽 黃黄 點点 齣出 罌罂 鴉鸦 綁绑 縣县 燒烧 僞伪 偽伪 彈弹 製制
槍枪 殺杀 詐诈 養养 錢钱 們们 麼么 買买 賣卖 裡里 軟软 體体
"""
_TRAD_PAIRS = {_TRAD[i]: _TRAD[i + 1] for i in range(0, len(_TRAD) - 1, 2) if _TRAD[i] != _TRAD[i + 1]}
_TRAD_PAIRS.update({p[0]: p[1] for p in _TRAD_MORE.split() if len(p) == 2 and p[0] != p[1]})
_TRAD_MAP = str.maketrans(_TRAD_PAIRS)


@runtime_checkable
class SafetyRule(Protocol):
    """One rule: looks at the question (before retrieval) and at the answer (before it is shown)."""

    name: str

    def check_input(self, q: Question) -> Verdict: ...

    def check_output(self, q: Question, a: Answer, passages: Sequence[Passage]) -> Verdict: ...


def normalize_forms(text: str) -> tuple[str, str]:
    """Two views of `text` that patterns are matched against.

    `spaced`: NFKC (full-width → half-width), lower case, zero-width characters removed, whitespace collapsed.
    `compact`: the same with every space and punctuation mark removed, so "炸 药" / "炸*药" still match 炸药.
    """
    s = _ZERO_WIDTH.sub("", unicodedata.normalize("NFKC", text or "")).lower().translate(_TRAD_MAP)
    spaced = " ".join(s.split())
    return spaced, _NON_WORD.sub("", spaced)


@dataclass
class CompiledPatterns:
    """Regexes with an optional `unless` list checked in a window around each match.

    The window check (rather than the whole text) keeps "如何防范诈骗" allowed without letting an
    unrelated benign word elsewhere in the question excuse a harmful request.
    """

    patterns: list[re.Pattern[str]]
    unless: list[re.Pattern[str]] = field(default_factory=list)
    window: int = 12

    def first_match(self, text: str) -> str | None:
        """The first matched snippet in either normalised form of `text` not excused by `unless`."""
        for form in normalize_forms(text):
            for pat in self.patterns:
                for m in pat.finditer(form):
                    lo, hi = max(0, m.start() - self.window), min(len(form), m.end() + self.window)
                    ctx = form[lo:hi]
                    if any(u.search(ctx) for u in self.unless):
                        continue
                    return m.group(0)
        return None


def compile_patterns(patterns: Sequence[str]) -> list[re.Pattern[str]]:
    """Compile regexes case-insensitively (validated earlier by the policy loader)."""
    return [re.compile(p, re.IGNORECASE) for p in patterns]


def _any_match(patterns: Sequence[re.Pattern[str]], text: str) -> str | None:
    """The first snippet any of `patterns` matches in either normalised form of `text`."""
    for form in normalize_forms(text):
        for pat in patterns:
            m = pat.search(form)
            if m is not None:
                return m.group(0)
    return None


@dataclass
class Guard:
    """Informational phrasing that excuses composed matches, unless an override cue shows intent."""

    patterns: list[re.Pattern[str]] = field(default_factory=list)
    override: list[re.Pattern[str]] = field(default_factory=list)

    def excuses(self, text: str) -> bool:
        """True when `text` reads as a question about the law/medicine and carries no override cue."""
        if not self.patterns or _any_match(self.patterns, text) is None:
            return False
        return _any_match(self.override, text) is None


@dataclass
class ComposedPatterns:
    """Intent × target: both must match within `window` characters of each other (either order).

    Composition generalises where whole-phrase patterns do not: any how-to/acquisition cue next to any
    dangerous object is caught, however the rest of the sentence is worded, while either alone (a topic
    mention, a benign how-to) is not.
    """

    intent: list[re.Pattern[str]]
    target: list[re.Pattern[str]]
    context: list[re.Pattern[str]] = field(default_factory=list)
    unless: list[re.Pattern[str]] = field(default_factory=list)
    window: int = 12
    guarded: bool = True
    name: str = ""

    def first_match(self, text: str, guard: Guard | None = None) -> str | None:
        """The matched "intent…target" snippet, or None when absent or excused."""
        hit = self._pair(text)
        if hit is None:
            return None
        if self.context and _any_match(self.context, text) is None:
            return None
        if self.unless and _any_match(self.unless, text) is not None:
            return None
        if self.guarded and guard is not None and guard.excuses(text):
            return None
        return hit

    def _pair(self, text: str) -> str | None:
        for form in normalize_forms(text):
            targets = [m for p in self.target for m in p.finditer(form)]
            if not targets:
                continue
            for p in self.intent:
                for i in p.finditer(form):
                    for t in targets:
                        gap = max(t.start() - i.end(), i.start() - t.end(), 0)
                        if gap <= self.window:
                            lo, hi = min(i.start(), t.start()), max(i.end(), t.end())
                            return form[lo:hi]
        return None


def compile_compose(rule: ComposeRule) -> ComposedPatterns:
    """Compile one YAML compose rule."""
    return ComposedPatterns(
        intent=compile_patterns(rule.intent),
        target=compile_patterns(rule.target),
        context=compile_patterns(rule.context),
        unless=compile_patterns(rule.unless),
        window=rule.window,
        guarded=rule.guarded,
        name=rule.name,
    )


def compile_guard(cfg: InformationalGuard | None) -> Guard | None:
    """Compile the policy-wide informational guard (None when the policy has none)."""
    if cfg is None or not cfg.patterns:
        return None
    return Guard(compile_patterns(cfg.patterns), compile_patterns(cfg.override))


class RefusalRule:
    """Refuses questions matching a refusal category (`refuse.<category>`)."""

    def __init__(self, cat: RefusalCategory, guard: Guard | None = None) -> None:
        self.cat = cat
        self.name = f"refuse.{cat.name}"
        self.soft = CompiledPatterns(
            compile_patterns(cat.patterns), compile_patterns(cat.unless), cat.unless_window
        )
        self.hard = CompiledPatterns(compile_patterns(cat.hard_patterns))
        self.compose = [compile_compose(c) for c in cat.compose]
        self.guard = guard

    def check_input(self, q: Question) -> Verdict:
        hit = self.hard.first_match(q.text) or self.soft.first_match(q.text)
        how = "pattern"
        if hit is None:
            for c in self.compose:
                hit = c.first_match(q.text, self.guard)
                if hit is not None:
                    how = f"compose:{c.name}" if c.name else "compose"
                    break
        if hit is None:
            return ALLOW
        return Verdict(
            action="refuse",
            rule=self.name,
            category=self.cat.name,
            message=self.cat.message.strip(),
            details={"match": hit, "via": how},
        )

    def check_output(self, q: Question, a: Answer, passages: Sequence[Passage]) -> Verdict:
        return ALLOW


class ClassifierRule:
    """Second layer: refuses what the trained classifier (safety/classifier.py) is confident is harmful.

    Runs only when the pattern layer allowed the question (`second_layer`, see SafetyPolicy.input_verdicts).
    It never overrides the informational guard: a question that reads as one ABOUT the law/medicine
    (罪/判几年/症状/急救…) is left alone unless it also carries an override (harm/evasion) cue, in which
    case the guard does not excuse it. The verdict names the classifier's argmax harmful category.
    """

    second_layer = True
    name = "refuse.classifier"

    def __init__(
        self,
        model: RefusalClassifier,
        cfg: ClassifierConfig,
        cats: Sequence[RefusalCategory],
        guard: Guard | None,
    ) -> None:
        self.model = model
        self.threshold = cfg.threshold
        self.min_category_p = cfg.min_category_p
        self.exclude = set(cfg.exclude)
        self.cats = {c.name: c for c in cats}
        self.guard = guard

    def check_input(self, q: Question) -> Verdict:
        if self.guard is not None and self.guard.excuses(q.text):
            return ALLOW
        pred = self.model.predict(q.text)
        cat = self.cats.get(pred.category)
        if (
            cat is None
            or pred.category in self.exclude
            or pred.p_harm < self.threshold
            or pred.p_category < self.min_category_p
        ):
            return ALLOW
        return Verdict(
            action="refuse",
            rule=f"refuse.{cat.name}",
            category=cat.name,
            message=cat.message.strip(),
            details={
                "via": "classifier",
                "p_harm": round(pred.p_harm, 4),
                "p_category": round(pred.p_category, 4),
            },
        )

    def check_output(self, q: Question, a: Answer, passages: Sequence[Passage]) -> Verdict:
        return ALLOW


def answer_text(a: Answer) -> str:
    """What the generator asserted: category, key points and — when nothing was parsed — the raw text."""
    parts = [a.category, *a.points]
    if not a.points:
        parts.append(a.raw)
    return "\n".join(p for p in parts if p)


class InterceptRule:
    """Holds an answer for human review when it contains a keyword group (`intercept.<group>`)."""

    def __init__(self, group: InterceptGroup, review_message: str) -> None:
        self.group = group
        self.name = f"intercept.{group.name}"
        self.any = CompiledPatterns(
            compile_patterns(group.patterns), compile_patterns(group.unless), group.unless_window
        )
        self.all = [CompiledPatterns([p]) for p in compile_patterns(group.require_all)]
        self.review_message = review_message

    def check_input(self, q: Question) -> Verdict:
        return ALLOW

    def check_output(self, q: Question, a: Answer, passages: Sequence[Passage]) -> Verdict:
        text = answer_text(a)
        hit = self.any.first_match(text) if self.group.patterns else ""
        if hit is None or any(c.first_match(text) is None for c in self.all):
            return ALLOW
        return Verdict(
            action=self.group.action,
            rule=self.name,
            category=self.group.name,
            message=(self.group.message or self.review_message).strip(),
            details={"match": hit or ""},
        )


class InjectionRule:
    """Prompt injection is a signal, never configuration.

    In a question it is recorded (`flag.prompt_injection`) and the answer is held for review; inside a
    retrieved passage it holds the answer too. Nothing here can switch another rule off: every rule runs on
    every turn regardless of what the text says.
    """

    name = "intercept.prompt_injection"

    def __init__(self, patterns: Sequence[str], review_message: str, hold: bool = True) -> None:
        self.matcher = CompiledPatterns(compile_patterns(patterns))
        self.review_message = review_message
        self.hold = hold

    def detect(self, text: str) -> str | None:
        """The injection phrase found in `text`, if any."""
        return self.matcher.first_match(text)

    def check_input(self, q: Question) -> Verdict:
        hit = self.detect(q.text)
        if hit is None:
            return ALLOW
        return Verdict(
            action="flag", rule="flag.prompt_injection", category="prompt_injection", details={"match": hit}
        )

    def check_output(self, q: Question, a: Answer, passages: Sequence[Passage]) -> Verdict:
        if not self.hold:
            return ALLOW
        hit = self.detect(q.text)
        where = "question"
        if hit is None:
            for p in passages:
                hit = self.detect(p.text)
                if hit is not None:
                    where = f"passage:{p.id}"
                    break
        if hit is None:
            hit = self.detect(answer_text(a))
            where = "answer"
        if hit is None:
            return ALLOW
        return Verdict(
            action="flag",
            rule=self.name,
            category="prompt_injection",
            message=self.review_message,
            details={"match": hit, "where": where},
        )


class DisclaimerRule:
    """Asks for the domain disclaimer (`amend.disclaimer`) when the answer lacks it verbatim."""

    name = "amend.disclaimer"

    def __init__(self, disclaimer: str) -> None:
        self.disclaimer = disclaimer

    def check_input(self, q: Question) -> Verdict:
        return ALLOW

    def check_output(
        self, q: Question, a: Answer, passages: Sequence[Passage], expected: str | None = None
    ) -> Verdict:
        """`expected`: the disclaimer the caller attaches for this answer (a domain's own), which then
        replaces the policy's; either way an answer without it verbatim is amended, never let through."""
        want = (expected or "").strip() or self.disclaimer.strip()
        if want and a.disclaimer.strip() != want:
            return Verdict(
                action="amend", rule=self.name, category="disclaimer", details={"disclaimer": want}
            )
        return ALLOW


class PiiOutputRule:
    """Holds answers that would show an ID-card or mobile number (`intercept.pii_in_answer`)."""

    name = "intercept.pii_in_answer"

    def __init__(self, review_message: str) -> None:
        self.review_message = review_message

    def check_input(self, q: Question) -> Verdict:
        return ALLOW

    def check_output(self, q: Question, a: Answer, passages: Sequence[Passage]) -> Verdict:
        if contains_pii(answer_text(a)):
            return Verdict(action="flag", rule=self.name, category="pii", message=self.review_message)
        return ALLOW


class CitationRule:
    """Defence in depth: a citation whose text is not verbatim from a retrieved passage holds the answer."""

    name = "intercept.unverified_citation"

    def __init__(self, review_message: str) -> None:
        self.review_message = review_message

    def check_input(self, q: Question) -> Verdict:
        return ALLOW

    def check_output(self, q: Question, a: Answer, passages: Sequence[Passage]) -> Verdict:
        by_id = {p.id: p for p in passages}
        bad = [
            c.law + (c.article_label or "")
            for c in a.citations
            if c.passage_id not in by_id or by_id[c.passage_id].text != c.text
        ]
        if not bad:
            return ALLOW
        return Verdict(
            action="flag",
            rule=self.name,
            category="citation",
            message=self.review_message,
            details={"citations": bad},
        )


RuleFactory = Callable[["PolicyConfig"], list[SafetyRule]]


def _refusal(cfg: PolicyConfig) -> list[SafetyRule]:
    cats = sorted((c for c in cfg.refusal_categories if c.enabled), key=lambda c: c.priority)
    guard = compile_guard(cfg.informational)
    return [RefusalRule(c, guard) for c in cats]


def _classifier(cfg: PolicyConfig) -> list[SafetyRule]:
    ccfg = cfg.classifier
    cats = [c for c in cfg.refusal_categories if c.enabled]
    if not ccfg.enabled or not cats:
        return []
    from safety.classifier import train_classifier  # safety.classifier imports this module

    harmful = {c.name: [*c.examples, *ccfg.harmful.get(c.name, [])] for c in cats}
    model = train_classifier(
        harmful, ccfg.benign, ngram_max=ccfg.ngram_max, c=ccfg.c, word_ngram_max=ccfg.word_ngram_max
    )
    if model is None:  # no benign list or no harmful prompts: nothing to learn from
        return []
    return [ClassifierRule(model, ccfg, cats, compile_guard(cfg.informational))]


def _intercept(cfg: PolicyConfig) -> list[SafetyRule]:
    return [InterceptRule(g, cfg.review_message) for g in cfg.intercepts if g.enabled]


def _injection(cfg: PolicyConfig) -> list[SafetyRule]:
    return [InjectionRule(cfg.injection.patterns, cfg.review_message, cfg.injection.hold_for_review)]


def _disclaimer(cfg: PolicyConfig) -> list[SafetyRule]:
    return [DisclaimerRule(cfg.disclaimer)]


def _pii_output(cfg: PolicyConfig) -> list[SafetyRule]:
    return [PiiOutputRule(cfg.review_message)]


def _citations(cfg: PolicyConfig) -> list[SafetyRule]:
    return [CitationRule(cfg.review_message)]


RULE_KINDS: dict[str, RuleFactory] = {
    "refusal": _refusal,
    "classifier": _classifier,
    "injection": _injection,
    "intercept": _intercept,
    "pii_output": _pii_output,
    "citations": _citations,
    "disclaimer": _disclaimer,
}


def register_rule_kind(kind: str, factory: RuleFactory) -> None:
    """Make a new rule kind available to policy files (`rules: [..., kind]`)."""
    RULE_KINDS[kind] = factory
