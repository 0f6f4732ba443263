from decimal import Decimal

from weiwai.i18n import _, format_money, normalise_locale, using_locale


def test_chinese_is_default_and_english_is_available():
    with using_locale("zh_CN"):
        assert _("{count} error(s); nothing was written").format(count=2) == "共 2 处错误；未写入任何数据"
    with using_locale("en"):
        assert _("{count} error(s); nothing was written").format(count=2) == "2 error(s); nothing was written"


def test_untranslated_message_falls_back_to_english():
    with using_locale("zh_CN"):
        assert _("no such message in any catalog") == "no such message in any catalog"


def test_locale_names_are_normalised():
    assert normalise_locale("zh-CN") == "zh_CN"
    assert normalise_locale("zh_Hans_CN") == "zh_CN"
    assert normalise_locale("en-US") == "en"


def test_money_is_formatted_per_locale():
    assert format_money(Decimal("1234.5"), "CNY", locale="zh_CN") == "¥1,234.50"
    assert format_money(Decimal("1234.5"), "CNY", locale="en") == "CN¥1,234.50"
