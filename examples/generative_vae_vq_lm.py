"""
Generative losses: a linear VAE, a linear VQ-VAE and a character language model
===============================================================================

Three losses of the survey's generative section, each trained in the linear model it defines and
compared with the scikit-learn estimator that computes the same optimum:

1. ``elbo`` on ``load_digits``: the linear VAE is probabilistic PCA (Tipping & Bishop), so its
   noise variance, log-likelihood and principal subspace equal ``PCA``'s; ``cvae`` generates
   digits of a chosen class. Sampled digits are saved as pictures.
2. ``vq_vae``: the linear VQ-VAE with ``n_components >= n_codes - 1`` is k-means; its codes and
   reconstruction error match ``KMeans``.
3. ``autoregressive_lm`` / ``masked_lm`` on CPython's help texts (``pydoc_data.topics``): a linear
   softmax over character windows (``LogisticRegression`` on one-hot windows); it samples text.

Run: ``python examples/generative_vae_vq_lm.py [--out DIR]`` (pictures go to DIR, a temporary
directory by default). Takes well under a minute on one core.
"""
import argparse
import os
import struct
import tempfile
import time
import zlib

import numpy as np
from scipy.linalg import subspace_angles
from sklearn.cluster import KMeans
from sklearn.datasets import load_digits
from sklearn.decomposition import PCA
from sklearn.metrics import adjusted_rand_score
from threadpoolctl import threadpool_limits

from sklearn_losses import LossGenerator


# %%
# Helpers: timing and pictures
# ----------------------------


def timed(fn):
    t = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - t


def tile(images, rows, cols, size=8, pad=1):
    """A grid of ``size``×``size`` images (values scaled to [0, 1]) as one array."""
    grid = np.ones((rows * (size + pad) + pad, cols * (size + pad) + pad))
    for k, img in enumerate(images[: rows * cols]):
        r, c = divmod(k, cols)
        im = np.clip(np.asarray(img, float).reshape(size, size) / 16.0, 0, 1)
        grid[pad + r * (size + pad): pad + r * (size + pad) + size,
             pad + c * (size + pad): pad + c * (size + pad) + size] = 1.0 - im
    return grid


def save_png(path, grid, title):
    """Save a gray-scale grid: matplotlib (Agg) if installed, else a minimal PNG writer."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        fig, ax = plt.subplots(figsize=(grid.shape[1] / 12, grid.shape[0] / 12 + 0.5))
        ax.imshow(grid, cmap="gray", vmin=0, vmax=1, interpolation="nearest")
        ax.set_title(title, fontsize=8)
        ax.axis("off")
        fig.savefig(path, dpi=100, bbox_inches="tight")  # left open: the docs' gallery shows it
    except ImportError:  # no matplotlib: write the pixels (upscaled 4x) directly
        img = np.kron((grid * 255).astype(np.uint8), np.ones((4, 4), np.uint8))
        raw = b"".join(b"\x00" + row.tobytes() for row in img)

        def chunk(tag, data):
            return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(tag + data))

        with open(path, "wb") as f:
            f.write(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", img.shape[1], img.shape[0],
                                                                       8, 0, 0, 0, 0))
                    + chunk(b"IDAT", zlib.compress(raw, 9)) + chunk(b"IEND", b""))
    return path


# %%
# 1. ``elbo``: the linear VAE is probabilistic PCA
# ------------------------------------------------


def linear_vae(out):
    print("=" * 78)
    print("1. elbo: linear VAE = probabilistic PCA (load_digits, raw pixels 0..16)")
    print("=" * 78)
    X, y = load_digits(return_X_y=True)
    n = X.shape[0]
    q = 20
    gen, t_gen = timed(lambda: LossGenerator("elbo", n_components=q, random_state=0).fit(X))
    pca, t_pca = timed(lambda: PCA(q).fit(X))
    angle = subspace_angles(gen.components_.T, pca.components_.T).max()
    print(f"{'':28s} {'LossGenerator(elbo)':>20s} {'PCA':>14s}")
    print(f"{'noise variance (1/n)':28s} {gen.noise_variance_:20.8f} {pca.noise_variance_ * (n - 1) / n:14.8f}")
    print(f"{'mean log-likelihood':28s} {gen.score(X):20.6f} {pca.score(X):14.6f}")
    print(f"{'-ELBO per sample':28s} {gen.objective_:20.6f} {'':>14s}")
    print(f"{'fit time, s':28s} {t_gen:20.4f} {t_pca:14.4f}")
    print(f"largest principal angle to PCA.components_: {angle:.2e} rad; optimality {gen.optimality_:.1e}")
    beta = LossGenerator("beta_elbo", n_components=q).set_params(loss__beta=4.0).fit(X)
    print(f"beta_elbo (beta=4): {beta.n_active_components_} of {q} latents active, "
          f"noise variance {beta.noise_variance_:.4f} (posterior collapse of the weakest directions)")
    # pictures: decoder means of prior draws, full samples, and class-conditional samples
    rng = np.random.default_rng(0)
    means = gen.inverse_transform(rng.standard_normal((40, q)))
    p1 = save_png(os.path.join(out, "vae_decoder_means.png"), tile(means, 4, 10),
                  "linear VAE: decoder means W z + mu, z ~ N(0, I)")
    p2 = save_png(os.path.join(out, "vae_samples.png"), tile(gen.sample(40, random_state=0), 4, 10),
                  "linear VAE: samples x ~ N(W z + mu, s2 I)")
    cvae = LossGenerator("cvae", n_components=q).fit(X, y)
    labels = np.repeat(np.arange(10), 6)
    Z = rng.standard_normal((labels.size, q))
    cond = cvae.inverse_transform(Z, y=labels)
    order = np.argsort(np.tile(np.arange(6), 10), kind="stable")
    p3 = save_png(os.path.join(out, "cvae_digits.png"), tile(cond[order], 6, 10),
                  "cvae: decoder means per class (columns 0..9)")
    acc = np.mean(cvae.predict(X) == y)
    print(f"cvae as a generative classifier (Bayes' rule): training accuracy {acc:.3f}")
    print("saved:", p1, p2, p3, sep="\n  ")


# %%
# 2. ``vq_vae``: the linear VQ-VAE is k-means
# -------------------------------------------


def linear_vq_vae(out):
    print()
    print("=" * 78)
    print("2. vq_vae: linear VQ-VAE = k-means (load_digits, 10 codes, 9 latent dimensions)")
    print("=" * 78)
    X, y = load_digits(return_X_y=True)
    opts = {"n_codes": 10, "n_init": 4}
    gen, t_gen = timed(lambda: LossGenerator("vq_vae", n_components=9, model_options=opts,
                                             random_state=0).fit(X))
    km, t_km = timed(lambda: KMeans(10, n_init=4, random_state=0).fit(X))
    print(f"{'':28s} {'LossGenerator(vq_vae)':>22s} {'KMeans':>14s}")
    print(f"{'reconstruction SSE/inertia':28s} {gen.inertia_:22.1f} {km.inertia_:14.1f}")
    print(f"{'fit time, s':28s} {t_gen:22.4f} {t_km:14.4f}")
    print(f"ARI(codes, KMeans labels) = {adjusted_rand_score(gen.labels_, km.labels_):.3f}; "
          f"ARI(codes, digit labels) = {adjusted_rand_score(gen.labels_, y):.3f}")
    print(f"latent z_q of the first sample: {np.round(gen.transform(X[:1])[0], 2)}")
    p = save_png(os.path.join(out, "vq_codebook.png"), tile(gen.cluster_centers_, 1, 10),
                 "linear VQ-VAE: the decoded codebook")
    print("saved:", p, sep="\n  ")


# %%
# 3. ``autoregressive_lm`` / ``masked_lm``: a character language model
# --------------------------------------------------------------------


def char_language_model(quick):
    import pydoc_data.topics as topics

    print()
    print("=" * 78)
    print("3. autoregressive_lm / masked_lm: linear softmax over character windows (pydoc_data.topics)")
    print("=" * 78)
    text = "".join(topics.topics[k] for k in sorted(topics.topics))
    n_train = 30_000 if quick else 80_000
    train = [line for line in text[:n_train].split("\n") if line.strip()]
    test = [line for line in text[n_train:n_train + 20_000].split("\n") if line.strip()]
    print(f"{len(train)} training lines ({n_train} characters), {len(test)} test lines")
    print("cross-entropy in nats per character (perplexity = exp(CE)):")
    print(f"{'model':50s} {'train CE':>9s} {'test CE':>9s} {'test ppl':>10s} {'fit s':>7s}")
    rows = [("autoregressive_lm", 1, np.inf), ("autoregressive_lm", 1, 1.0), ("autoregressive_lm", 3, 1.0),
            ("masked_lm", 1, 1.0)]
    fitted = {}
    for loss, k, C in rows:
        gen, t = timed(lambda: LossGenerator(loss, tokenizer="char", random_state=0,
                                             model_options={"context": k, "C": C}).fit(train))
        fitted[(loss, k, C)] = gen
        name = f"{loss}, context={k}, C={C:g}" + (" (count bigram)" if np.isinf(C) else "")
        s = gen.score(test)
        print(f"{name:50s} {-gen.score(train):9.4f} {-s:9.4f} {np.exp(-s):10.3g} {t:7.2f}")
    print("(the unregularised count bigram gives the pairs it never saw probability ~0, hence its test CE;\n"
          " the masked model sees one character on each side, so its CE is a pseudo-likelihood)")
    ar = fitted[("autoregressive_lm", 3, 1.0)]
    print("\nsampled text (autoregressive, context 3):")
    for line in ar.sample(4, length=70, random_state=1):
        print("  |", line.replace("\n", " "))
    ml = fitted[("masked_lm", 1, 1.0)]
    print("sampled text (masked, Gibbs sampling):")
    print("  |", ml.sample(1, length=70, random_state=1)[0].replace("\n", " "))


# %%
# Run the three parts
# -------------------


def main():
    parser = argparse.ArgumentParser(description=(__doc__ or "").strip().split("\n")[0])
    parser.add_argument("--out", default=None, help="folder for the PNG pictures (default: a temporary folder)")
    parser.add_argument("--quick", action="store_true", help="a smaller language-model corpus")
    args = parser.parse_args()
    out = args.out or tempfile.mkdtemp(prefix="generative_")
    os.makedirs(out, exist_ok=True)
    # one BLAS thread: the products are small and spinning BLAS threads only slow a shared machine
    with threadpool_limits(limits=1, user_api="blas"):
        linear_vae(out)
        linear_vq_vae(out)
        char_language_model(args.quick)


if __name__ == "__main__":
    main()
