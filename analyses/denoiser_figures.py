"""The denoiser comparison's figures (python -m analyses denoisers): the tuning curves, where
the DAE stands (ranking, noise level, code size) and example outputs."""

import re

import numpy as np
import torch

import ex09
from analyses import runs
from analyses.filters import FILTERS
from noise import DEFAULT_NOISE_STD

CEILING = "plain AE fed the clean input"
EXAMPLE_METHODS = ("noisy input (no denoising)", "BM3D", "BM3D, clipping-aware",
                   "non-local means, clipping-aware", "Wiener (linear MMSE), clipping-aware",
                   "DAE", "DAE, code size 128")
EXAMPLE_TITLES = {"noisy input (no denoising)": "noisy", "BM3D": "BM3D\nblind",
                  "BM3D, clipping-aware": "BM3D\naware",
                  "non-local means, clipping-aware": "NL-means\naware",
                  "Wiener (linear MMSE), clipping-aware": "Wiener\naware",
                  "DAE, code size 128": "DAE\nwidth 128"}


def plot_tuning(tuning, path, styles=None):
    """Every tuning curve: one panel per method and parameter, one colour per noise level, one
    line style per pipeline (`styles`; by default solid blind and dashed clipping-aware), PSNR
    relative to that search's best; the chosen value marked."""
    styles = styles or {"blind": "-", "clipping-aware": "--"}
    plt = ex09._matplotlib()
    from matplotlib.ticker import FormatStrFormatter, MaxNLocator, NullFormatter
    panels = list(dict.fromkeys((t["filter"], p) for t in tuning.values()
                                for p in t["parameters"]))
    # One method: its name once, in the legend (per panel, long names overlap), a column per
    # parameter, and room for the legend above even one column.
    single = len({method for method, _ in panels}) == 1
    cols = min(4, len(panels))
    rows = -(-len(panels) // cols)
    fig, axes = plt.subplots(rows, cols, figsize=(max(6.5 * cols / 4, 3.4) if single else 6.5,
                                                  1.6 * rows + 0.6), squeeze=False)
    colours = {}
    for ax, (method, name) in zip(axes.flat, panels):
        tried = set()
        for t in tuning.values():
            if t["filter"] != method:
                continue
            c = t["parameters"][name]
            tried.update(c["grid"])
            colour = colours.setdefault(t["sigma"], f"C{len(colours)}")
            style = styles[t["pipeline"]]
            x = [str(v) for v in c["grid"]] if isinstance(c["grid"][0], (str, bool)) else c["grid"]
            y = np.array(c["psnr_db"]) - t["tuned_psnr_db"]
            ax.plot(x, y, ".", linestyle=style, color=colour, linewidth=1, markersize=2.5)
            chosen = str(c["chosen"]) if isinstance(x[0], str) else c["chosen"]
            ax.plot([chosen], [y[list(c["grid"]).index(c["chosen"])]], "o", color=colour,
                    markersize=4.5, fillstyle="none")
        if name in ("patch_size", "patch_distance", "window", "levels", "block",
                    "step", "patch"):  # the values tried, unless too many to label apart
            if len(tried) <= 6:
                ax.set_xticks(sorted(tried))
            else:
                ax.xaxis.set_major_locator(MaxNLocator(integer=True, nbins=6))
        elif isinstance(c["grid"][0], str) and len(tried) > 3:  # names side by side collide
            ax.tick_params(axis="x", labelrotation=40)
        elif not isinstance(c["grid"][0], (str, bool)):
            ax.set_xscale("symlog", linthresh=0.1) if 0 in c["grid"] else ax.set_xscale("log")
            positive = [v for v in c["grid"] if v > 0]
            low, high = min(positive), max(positive)
            # under 1.5 decades one tick per decade leaves one or none (symlog keeps its 0)
            if high / low < 30 and 0 not in c["grid"]:
                ax.set_xticks([t for t in (m * 10.0 ** e for e in range(-3, 4) for m in (1, 2, 5))
                               if low <= t <= high * 1.001] or [low, high])
            ax.xaxis.set_major_formatter(FormatStrFormatter("%g"))
            ax.xaxis.set_minor_formatter(NullFormatter())
        label = {"sigma_factor": r"$\sigma_{filter} / \sigma$", "h": r"$h / \sigma$",
                 "std": "std (px)", "k": "k (components)"}.get(name, name.replace("_", " "))
        ax.set_xlabel(label, fontsize=7, labelpad=1)
        if not single:
            ax.set_title(method.replace(" (BayesShrink)", ""), fontsize=7.5, pad=2)
        ax.set_ylim(max(ax.get_ylim()[0], -3), 0.3)
        ax.tick_params(labelsize=7)
        ax.grid(True, alpha=0.3)
    for ax in axes[:, 0]:
        ax.set_ylabel("PSNR - best (dB)", fontsize=7)
    for ax in axes.flat[len(panels):]:
        ax.axis("off")
    line = plt.Line2D
    handles = [line([], [], color=c, marker=".") for c in colours.values()] + [
        line([], [], color="0.3", linestyle=style) for style in styles.values()] + [
        line([], [], marker="o", fillstyle="none", color="0.3", linestyle="none")]
    labels = [rf"$\sigma$ = {s:g}" for s in colours] + list(styles) + ["chosen value"]
    fig.legend(handles, labels, loc="upper center", fontsize=7, ncol=len(labels),
               bbox_to_anchor=(0.5, 1.0), title=f"{panels[0][0]}:" if single else None,
               title_fontsize=7.5, alignment="left" if single else "center")
    fig.tight_layout(rect=(0, 0, 1, 0.86 if single else 0.95))
    ex09.save(fig, path, layout=False)


def redraw_tuning(folder, command, name):
    """Draw `folder`'s tuning.png again from its record (bm3d-blocks, patch-prior): each
    pipeline's curves, as the run drew them, without tuning anything again."""
    def draw(record, stage):
        tuning = {}
        for pipeline, result in record["pipelines"].items():
            if "parameters" not in result:
                raise ex09.UsageError(f"{folder / folder.name}.json predates recording the "
                                      f"tuning curves; run the analysis again to draw them")
            tuning[pipeline] = {"filter": name, "sigma": record["sigma"], "pipeline": pipeline,
                                "parameters": result["parameters"],
                                "tuned_psnr_db": result["tuned_psnr_db"]}
        plot_tuning(tuning, stage / "tuning.png")
    runs.redraw(folder, command, draw)


def short_name(method):
    """The figure's name of a method: Table 5's, shortened."""
    if method in ("DAE", "DAE, tuned"):  # the sheet's network
        return method.replace("DAE", "DAE (sheet's)")
    method = re.sub(r"PCA-\d+ \(k tuned\)", "PCA, k tuned", method)
    return (method.replace(" (BayesShrink)", "").replace(" (no denoising)", "")
            .replace("plain AE fed the noisy input", "AE (Q2), noisy in")
            .replace(CEILING, "AE (Q2), clean in").replace(" (k tuned)", "")
            .replace(", clipping-aware", "").replace("non-local means", "NL-means")
            .replace("DAE, code size", "DAE, widened to")
            .replace(", widened to 128, tuned, ", " widened, tuned, ").replace(" epochs", " ep."))


def plot_standing(summary, args, path):
    """Left: the ranking at sigma 0.5 (subset PSNR): each classical method blind and
    clipping-aware on one row, learned rows with their seeds' min-max. Middle: PSNR against the
    noise level. Right: PSNR against the code size at sigma 0.5. Both with BM3D either way, the
    clipping-aware Wiener estimator, the best other aware filter and the clean-input AE (what an
    8-number code can reconstruct)."""
    plt = ex09._matplotlib()
    fig, (rank_ax, noise_ax, code_ax) = plt.subplots(1, 3, figsize=(6.5, 3.6),
                                                     gridspec_kw={"width_ratios": (1.3, 1, 1)})

    def level(sigma, method):
        return next((s["subset"]["psnr_db"] for s in summary
                     if s["sigma"] == sigma and s["method"] == method), None)
    at = {s["method"]: s for s in summary if s["sigma"] == DEFAULT_NOISE_STD}
    blind = [m for m in at if at[m]["kind"] in ("filter", "pca", "linear", "input")
             and not m.endswith(", clipping-aware") and "(the code size)" not in m]
    pairs = {m: f"{m}, clipping-aware" if f"{m}, clipping-aware" in at else None
             for m in blind}
    learned = [m for m in at if at[m]["kind"] in ("learned", "reference")
               and not m.startswith(("DAE trained", "DAE, code size")) or m == "DAE, code size 128"]

    def best(m):
        return max(level(DEFAULT_NOISE_STD, x)["mean"] for x in (m, pairs.get(m)) if x)
    rows = sorted(blind + learned, key=best)
    for i, m in enumerate(rows):
        p = level(DEFAULT_NOISE_STD, m)
        if m in blind:
            rank_ax.plot(p["mean"], i, "s", color="tab:blue", fillstyle="none", markersize=4,
                         label="classical, blind to the clipping" if i == rows.index(blind[0])
                         else None)
            if pairs[m]:
                q = level(DEFAULT_NOISE_STD, pairs[m])
                rank_ax.plot([p["mean"], q["mean"]], [i, i], color="tab:blue", linewidth=0.6)
                rank_ax.plot(q["mean"], i, "s", color="tab:blue", markersize=4,
                             label="classical, clipping-aware" if m == next(
                                 b for b in rows if b in blind and pairs[b]) else None)
        else:
            kind = at[m]["kind"]
            rank_ax.errorbar(p["mean"], i, xerr=[[p["mean"] - p["min"]], [p["max"] - p["mean"]]],
                             fmt="o" if kind == "learned" else "D", markersize=3.5, capsize=2,
                             linewidth=1, color="tab:red" if kind == "learned" else "0.4",
                             label={"DAE": "learned: mean, min-max of seeds",
                                    CEILING: "AE fed clean images (no noise)"}.get(m))
    rank_ax.set_yticks(range(len(rows)), [short_name(m) for m in rows], fontsize=7)
    rank_ax.set(xlabel="mean PSNR (dB)")
    rank_ax.set_title(rf"$\sigma$ = {DEFAULT_NOISE_STD:g}, first {args.subset_images} test "
                      f"images", fontsize=8)
    rank_ax.grid(True, axis="x", alpha=0.3)
    others = [m for m in FILTERS if m != "BM3D"  # the filters run
              and level(DEFAULT_NOISE_STD, f"{m}, clipping-aware")]
    ceiling = level(DEFAULT_NOISE_STD, CEILING)
    for ax, xs, pick, xlabel in (
            (noise_ax, args.sigmas, lambda x: (x, f"DAE trained at sigma {x:g}"),
             r"noise std $\sigma$ (on $[-1, 1]$)"),
            (code_ax, args.widths, lambda x: (DEFAULT_NOISE_STD, f"DAE, code size {x}"),
             "width $W$ (= code size)")):
        dae = [level(*pick(x)) for x in xs]
        ax.errorbar(xs, [d["mean"] for d in dae], yerr=[[d["mean"] - d["min"] for d in dae],
                                                        [d["max"] - d["mean"] for d in dae]],
                    fmt="o-", color="tab:red", capsize=2, markersize=3.5, linewidth=1.2,
                    label=f"DAE, seeds {', '.join(map(str, args.sweep_seeds))}: mean, min-max")
        sigmas = xs if ax is noise_ax else [DEFAULT_NOISE_STD] * len(xs)
        for method, style, colour, label in (
                ("BM3D", "s:", "black", "BM3D, blind"),
                ("BM3D, clipping-aware", "s--", "black", "BM3D, clipping-aware"),
                ("Wiener (linear MMSE), clipping-aware", "v-.", "tab:green",
                 "Wiener, clipping-aware")):
            if all(level(s, method) for s in sigmas):
                ax.plot(xs, [level(s, method)["mean"] for s in sigmas], style, color=colour,
                        markersize=3, linewidth=1, fillstyle="none" if "blind" in label
                        else "full", label=label)
        # across noise levels the best other filter is not one method: markers, no line
        ax.plot(xs, [max(level(s, f"{m}, clipping-aware")["mean"] for m in others)
                     for s in sigmas], "^" if ax is noise_ax else "^--", color="tab:blue",
                markersize=3, linewidth=1, label="best other filter, clipping-aware")
        if ceiling:
            x0 = xs if ax is noise_ax else [8]
            ax.errorbar(x0, [ceiling["mean"]] * len(x0), yerr=[[ceiling["mean"] - ceiling["min"]]
                        * len(x0), [ceiling["max"] - ceiling["mean"]] * len(x0)], fmt="D",
                        color="0.4", markersize=3, capsize=2, linewidth=1,
                        label="AE fed clean images (code size 8)")
        ax.set_xscale("log", base=2)
        ax.set_xticks(xs, [f"{x:g}" for x in xs])
        ax.set(xlabel=xlabel, ylabel="mean PSNR (dB)")
        ax.grid(True, alpha=0.3)
    noise_ax.set_title("trained / tuned per level", fontsize=8)
    code_ax.set_title(rf"at $\sigma$ = {DEFAULT_NOISE_STD:g}", fontsize=8)
    handles, labels = rank_ax.get_legend_handles_labels()
    more = noise_ax.get_legend_handles_labels()  # its best other filter: markers, no line
    keep = [(h, lab) for h, lab in zip(handles + more[0], labels + more[1])
            if lab not in ("AE fed clean images (code size 8)",)]
    fig.legend(*zip(*keep), loc="lower center", fontsize=7, ncol=3, bbox_to_anchor=(0.5, 0.0))
    fig.tight_layout(rect=(0, 0.17, 1, 1))
    ex09.save(fig, path, layout=False)


EXAMPLE_CLASSES = ("T-shirt/top", "Pullover", "Sandal", "Sneaker", "Bag")


def plot_examples(examples, classes, path, title=None):
    """One row per test image (five classes with print, straps, laces), one column per method."""
    rows = [i for i, name in enumerate(classes) if name in EXAMPLE_CLASSES]
    images = {name: torch.as_tensor(np.asarray(x, np.float32)).reshape(-1, 784)
              for name, x in examples}
    titles = list(images)
    ex09.plot_image_rows([(classes[i], torch.stack([x[i] for x in images.values()]))
                          for i in rows], titles,
                         title or rf"Noisy test images ($\sigma$ = {DEFAULT_NOISE_STD:g}) "
                                   f"denoised by each method", path)


def median_seed(rows, sigma, method):
    """The seed of the median subset PSNR among `method`'s rows (the lower middle of an even
    count); None for a method without seeds."""
    seeds = sorted((r["subset"]["psnr_db"], r["seed"]) for r in rows
                   if r["sigma"] == sigma and r["method"] == method)
    return seeds[(len(seeds) - 1) // 2][1]


def example_columns(outputs, rows, sigma, shown):
    """The examples figure's columns: the noisy input, the strongest filters both ways, the
    clipping-aware Wiener estimator, and the DAE of the sheet and of code size 128 at the seed
    of median PSNR (not a chosen one)."""
    columns = []
    for method in EXAMPLE_METHODS:
        if not any(r["sigma"] == sigma and r["method"] == method for r in rows):
            continue
        seed = median_seed(rows, sigma, method)
        key = method if seed is None else (method, seed)
        title = EXAMPLE_TITLES.get(method, method) + ("" if seed is None else f"\nseed {seed}")
        columns.append((title, np.clip(outputs[key][1], -1, 1)[shown]))
    return columns
