"""The reference write-up of part3.ipynb, put into the executed reference notebook's answer cells.

The kit's part3.ipynb (reference and student versions alike) holds only the placeholder in its markdown answer
cells: markdown cells are handed out as they are, so the reference's answers cannot live there without reaching the
students. The reference-artifact step ``part3`` (reference_artifacts.py) executes the notebook, then calls
:func:`fill` so that the reference submission answers every question (rubric row 6.5). These are model answers for
the course staff; the numbers they cite are the ones the notebook prints (a reduced run prints others).
"""
from __future__ import annotations

ANSWERS = {
    1: ("Two features of the pretrained network: an early convolution layer (the first stride-2 block, `_blocks.1` "
        "of EfficientNet-Lite0 or `layer1` of ResNet-18), averaged over its spatial positions so that each image "
        "gives one number per channel, and the penultimate layer (the global average pooling that the final "
        "classifier reads). The early layer responds to edges and local texture; the penultimate layer holds the "
        "most abstract features the network has, so comparing the two shows what depth adds."),
    2: ("In both plots trousers, bags and the footwear classes (sandal, sneaker, ankle boot) form clear groups; "
        "shirt, T-shirt/top, pullover and coat overlap. The early layer's plot is organised mostly by overall "
        "brightness and shape, so classes with a similar silhouette mix; the penultimate layer separates the three "
        "kinds of footwear from each other better but still mixes the upper-body garments, which the ImageNet "
        "classes never had to tell apart."),
    3: ("The table gives within + between = total for each layer. The between/within ratio measures how far apart "
        "the class means are compared with how spread each class is; it does not depend on the scale of the "
        "features, so the layers, whose values differ by orders of magnitude, can be compared by it. On these "
        "grayscale, resized images the ratio of the pooled early layer is not below the penultimate layer's: in "
        "1280 dimensions much of the within-class variance lies in directions that do not matter for these "
        "classes, and t-SNE (which looks at neighbours, not at Euclidean spread) shows clusters that the ratio "
        "alone does not reveal. The per-class intra variances are smallest for trousers and sneakers, the most "
        "uniform classes."),
}
HEAD = "**Answer {number}.**"


def fill(nb) -> None:
    """Replace the text of each answer cell (``**Answer N.**`` + placeholder) of a parsed notebook with ANSWERS[N]."""
    for cell in nb.cells:
        if cell.get("cell_type") != "markdown":
            continue
        for number, text in ANSWERS.items():
            head = HEAD.format(number=number)
            if cell.source.lstrip().startswith(head):
                cell.source = f"{head}\n\n{text}"
