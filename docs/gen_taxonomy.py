"""Draw the survey's taxonomy, task -> family -> loss key, from the loss registry.

Run by ``conf.py`` at every Sphinx build (the PNG is git-ignored); can also be run by hand::

    python docs/gen_taxonomy.py [output.png]

The tree is read from the registry (``sklearn_losses.list_losses()`` and each loss's declared
``task``, ``family`` and ``kind``), the same rows as the catalogue page, so a new loss appears in
the figure without editing anything here.
"""
import os
import sys

_HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, _HERE)
sys.path.insert(0, os.path.abspath(os.path.join(_HERE, "..")))

from gen_catalogue import catalogue_rows  # noqa: E402

#: display order of the tasks, split over two columns (roughly equal numbers of leaves)
COLUMNS = (("regression", "regularisers", "classification"), ("ranking", "energy", "generative"))
FAMILIES = ("error", "probabilistic", "margin")
FAMILY_COLORS = {"error": "#1f77b4", "probabilistic": "#2ca02c", "margin": "#d62728"}


def taxonomy(rows=None):
    """``{task: {family: [row, ...]}}``, tasks and families in display order.

    Regularisers (``kind == "regularizer"``: penalties, listed under regression by the
    registry) form a task node of their own, as in the survey's section 3.
    """
    rows = catalogue_rows() if rows is None else rows
    tree = {}
    for r in rows:
        task = "regularisers" if r["kind"] == "regularizer" else r["task"]
        tree.setdefault(task, {}).setdefault(r["family"], []).append(r)
    order = [t for col in COLUMNS for t in col]
    ordered = {}
    for task in order + sorted(set(tree) - set(order)):
        if task in tree:
            fams = tree[task]
            ordered[task] = {f: fams[f] for f in list(FAMILIES) + sorted(set(fams) - set(FAMILIES)) if f in fams}
    return ordered


def _draw_column(ax, tree, tasks):
    """Draw the sub-trees of ``tasks`` left to right (task, family, keys) on ``ax``."""
    x_task, x_fam, x_key = 0.0, 1.0, 2.0
    y = 0.0
    for task in tasks:
        if task not in tree:
            continue
        fam_ys = []
        for family, members in tree[task].items():
            color = FAMILY_COLORS.get(family, "0.3")
            key_ys = []
            for r in members:
                key_ys.append(y)
                in_survey = r["section"] and r["section"][0].isdigit()
                ax.text(x_key + 0.05, y, r["key"], va="center", fontsize=7.5,
                        family="monospace", color="0.1" if in_survey else "0.45")
                if in_survey:
                    ax.text(x_key + 1.75, y, r["section"], va="center", fontsize=6.5, color="0.45")
                y -= 1
            y_f = (key_ys[0] + key_ys[-1]) / 2
            for yk in key_ys:  # elbow connectors family -> key
                ax.plot([x_fam + 0.1, x_fam + 0.7, x_fam + 0.7, x_key], [y_f, y_f, yk, yk],
                        color=color, lw=0.8)
            ax.text(x_fam, y_f, family, va="center", ha="left", fontsize=8, color="white",
                    bbox=dict(boxstyle="round,pad=0.25", fc=color, ec="none"))
            fam_ys.append(y_f)
            y -= 0.35
        y_t = (fam_ys[0] + fam_ys[-1]) / 2
        for yf in fam_ys:  # task -> family
            ax.plot([x_task + 0.62, x_task + 0.8, x_task + 0.8, x_fam], [y_t, y_t, yf, yf], color="0.5", lw=0.8)
        n = sum(len(m) for m in tree[task].values())
        ax.text(x_task, y_t, f"{task}\n({n})", va="center", ha="left", fontsize=9, weight="bold",
                bbox=dict(boxstyle="round,pad=0.3", fc="0.92", ec="0.6"))
        y -= 0.9
    return y


def write_taxonomy(path, rows=None, dpi=110):
    """Save the taxonomy figure to ``path`` (PNG) and return ``path``."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    tree = taxonomy(rows)
    columns = [list(c) for c in COLUMNS]
    columns[-1] += [t for t in tree if not any(t in c for c in COLUMNS)]  # unknown tasks, if any
    leaves = [sum(len(m) + 0.35 for t in col if t in tree for m in tree[t].values()) + 0.9 * len(col)
              for col in columns]
    height = max(leaves)
    fig, axes = plt.subplots(1, len(columns), figsize=(6.2 * len(columns), 0.2 * height + 0.9))
    for ax, col in zip(axes, columns):
        _draw_column(ax, tree, col)
        ax.set_xlim(-0.05, 4.25)
        ax.set_ylim(-height + 0.4, 0.8)
        ax.axis("off")
    handles = [plt.Line2D([], [], color=c, lw=3, label=f) for f, c in FAMILY_COLORS.items()]
    fig.legend(handles=handles, loc="upper center", ncol=3, frameon=False, fontsize=9,
               title="task  →  family  →  loss key (survey section; grey: beyond the survey)",
               title_fontsize=9)
    fig.subplots_adjust(left=0.01, right=0.99, bottom=0.01, top=1 - 0.75 / (0.2 * height + 0.9))
    fig.savefig(path, dpi=dpi)
    plt.close(fig)
    return path


if __name__ == "__main__":
    print(write_taxonomy(sys.argv[1] if len(sys.argv) > 1 else os.path.join(_HERE, "taxonomy.png")))
