"""The tutorial notebooks as committed: where they are, how to read them, what their Chinese must not hold.

Shared by the structure checks (``tests/notebooks/test_tutorials.py``, over every notebook) and the
files that run a tutorial for real, so that "a tutorial" means the same files everywhere.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import nbformat

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"
LANGUAGES = ("en", "fr", "zh-TW")
EVERY = sorted(path.name for path in (NOTEBOOKS / "en").glob("*.ipynb"))
PRICING_PAGE = "aws.amazon.com/sagemaker/pricing"
# Simplified-only forms of characters a Traditional Chinese text of this kind could use
# (Taiwan writes 這個們為時練訓點組態數據將會對說與應發現實務費儲刪預測結圖庫設讓寫讀類標籤確陣證買戶險車碼檔錄選項參員長網頁區價條線邊見覺學習機節壓縮維輸問題從給無沒當還經過較種樣該認識體東蘭幾雖視聽話語譯級層額處隨順)
SIMPLIFIED = set(
    "这个们为时练训点组态数据将会对说与应发现实务费储删预测结图库设让写读类标签确阵证买户险车码档录选项参员长网页区价条线边见觉学习"
    "机节压缩维输问题从给无没当还经过较种样该认识体东兰几虽视听话语译级层额处随顺"
)


def read(language: str, name: str) -> Any:
    return nbformat.read(NOTEBOOKS / language / name, as_version=4)


def cells(notebook: Any, kind: str) -> list[str]:
    """The sources of the notebook's cells of one kind ("code" or "markdown"), in order."""
    return [cell.source for cell in notebook.cells if cell.cell_type == kind]


def outside_big5(text: str) -> set[str]:
    """Characters Big5 (the Traditional Chinese encoding) cannot hold: Simplified-only forms the SIMPLIFIED list missed."""
    found = set()
    for character in set(text):
        if "\u4e00" <= character <= "\u9fff":
            try:
                character.encode("big5")
            except UnicodeEncodeError:
                found.add(character)
    return found


class ExecutedNotebook:
    """A notebook after nbclient ran it: each code cell found by how its source starts, and what it output."""

    def __init__(self, notebook: Any, seconds: float) -> None:
        self.notebook, self.seconds = notebook, seconds

    def _cell(self, starts_with: str) -> Any:
        found = [cell for cell in self.notebook.cells if cell.cell_type == "code" and cell.source.startswith(starts_with)]
        assert len(found) == 1, f"no single code cell starting with {starts_with!r}"
        return found[0]

    def outputs(self, starts_with: str) -> list[dict[str, Any]]:
        return self._cell(starts_with).outputs

    def code(self, starts_with: str) -> str:
        return self._cell(starts_with).source
