r"""Linear language models: the model ``autoregressive_lm`` and ``masked_lm`` train in :class:`~sklearn_losses.LossGenerator`.

A linear softmax over a context window of tokens::

    p(x_t | window) = softmax(W φ(window) + b),

with ``φ`` the concatenated one-hot codes of the window's tokens (a boundary
symbol stands for positions before the start / after the end of a
sequence). ``autoregressive_lm``: the window is the ``context`` previous
tokens (``x_{t−k} … x_{t−1}``); ``masked_lm``: ``context`` tokens on each side
(``x_{t−k} … x_{t−1}, x_{t+1} … x_{t+k}``), i.e. every position is masked in
turn and predicted from its two-sided window (the pseudo-likelihood).

The training objective is the mean next-token (masked-token) cross-entropy
over all counted positions plus ``½‖W‖² / (C Σw)``, exactly the objective of
``LogisticRegression(C=C)`` (multinomial, unpenalised intercept) on the
one-hot windows, minimised by the project's L-BFGS solver
(:class:`~sklearn_losses.solvers.LBFGSSolver`); ``C=np.inf`` is the
unregularised maximum-likelihood model, which for ``context=1``
(autoregressive) is the count bigram model and is computed in closed form.
Tokens that never occur as a target get probability 0 (as a class absent from
the labels of ``LogisticRegression``).

Input: a 2-D integer array ``(n_sequences, T)`` of token ids (the loss's
``ignore_index`` marks padding), a list of 1-D id sequences, or with
``tokenizer="char"`` a list of strings.
"""
import numbers

import numpy as np
import scipy.sparse as sp
from scipy.special import log_softmax
from sklearn.utils import check_random_state

from . import FamilyBase, check_options, warn_if_short

__all__ = ["TokenModel", "CharTokenizer"]

_LOG_FLOOR = -700.0  # log-probability of an event the count model never saw (exp underflows to ~1e-304)
UNKNOWN = "\ufffd"  # the symbol the char tokenizer uses for characters outside its vocabulary


class CharTokenizer:
    """Characters to ids: the characters seen at least ``min_count`` times, then one unknown symbol."""

    def __init__(self, min_count=1):
        self.min_count = min_count

    def fit(self, texts):
        counts = {}
        for t in texts:
            for ch in t:
                counts[ch] = counts.get(ch, 0) + 1
        self.vocabulary_ = sorted(ch for ch, c in counts.items() if c >= self.min_count and ch != UNKNOWN)
        self.vocabulary_.append(UNKNOWN)
        self._index = {ch: i for i, ch in enumerate(self.vocabulary_)}
        return self

    @property
    def unknown_id(self):
        return len(self.vocabulary_) - 1

    def encode(self, text):
        unk = self.unknown_id
        get = self._index.get
        return np.fromiter((get(ch, unk) for ch in text), dtype=np.intp, count=len(text))

    def decode(self, ids):
        return "".join(self.vocabulary_[int(i)] for i in ids)


class TokenModel(FamilyBase):
    """Linear softmax language model over context windows (see the module docstring).

    Options (``LossGenerator(model_options=...)``)
    ----------------------------------------------
    context : int, default=2
        Window size k (tokens before; for ``masked_lm`` k on each side).
    C : float > 0 or np.inf, default=1.0
        Inverse regularisation strength, as ``LogisticRegression(C=...)``.
    vocab_size : int or None, default=None
        Number of token ids (integer input); None: ``max id + 1`` of the training data.
    min_count : int, default=2
        Char tokenizer: characters seen fewer times are mapped to the unknown symbol
        (so that the unknown symbol is a trained token when the training text has rare
        characters; a token never seen as a target has probability 0).
    sample_length : int or None, default=None
        Length of sampled sequences (None: the median training length).
    n_sweeps : int, default=10
        Gibbs sweeps of ``masked_lm`` sampling.
    """

    methods = frozenset({"score", "perplexity", "predict_proba", "predict", "score_samples"})
    numeric_input = False
    _options = {"context": 2, "C": 1.0, "vocab_size": None, "min_count": 2, "sample_length": None,
                "n_sweeps": 10, "tokenizer": None}

    @classmethod
    def methods_for(cls, loss):
        if cls._masked(loss):
            return cls.methods - {"score_samples"}  # a pseudo-likelihood is not a density
        return cls.methods

    @staticmethod
    def _masked(loss):
        return loss.name == "masked_lm" or bool(getattr(loss, "masked", False))

    # ------------------------------------------------------------ input
    def _settings(self):
        o = check_options("token", self.options, self._options)
        for key in ("context", "min_count", "n_sweeps"):
            v = o[key]
            if isinstance(v, bool) or not isinstance(v, (numbers.Integral, np.integer)) or v < 1:
                raise ValueError(f"model_options[{key!r}] must be a positive integer, got {v!r}")
        for key in ("vocab_size", "sample_length"):
            v = o[key]
            if v is not None and (isinstance(v, bool) or not isinstance(v, (numbers.Integral, np.integer)) or v < 1):
                raise ValueError(f"model_options[{key!r}] must be a positive integer or None, got {v!r}")
        C = o["C"]
        if isinstance(C, bool) or not isinstance(C, numbers.Real) or not C > 0:
            raise ValueError(f"model_options['C'] must be a positive float (np.inf: no penalty), got {C!r}")
        if o["tokenizer"] not in (None, "char"):
            raise ValueError(f"tokenizer must be None or 'char', got {o['tokenizer']!r}")
        return o

    def _sequences(self, X, fitting=False):
        """The input as a list of 1-D id arrays (-1 = padding / boundary), validated."""
        ign = int(getattr(self.loss, "ignore_index", -100))
        if self._opts["tokenizer"] == "char":
            if isinstance(X, str):
                X = [X]
            if not all(isinstance(t, str) for t in X):
                raise ValueError("with tokenizer='char', X must be a list of strings")
            if fitting:
                self._tok = CharTokenizer(self._opts["min_count"]).fit(X)
            return [self._tok.encode(t) for t in X]
        if isinstance(X, str) or (len(X) and all(isinstance(t, str) for t in X)):
            raise ValueError("X holds strings: pass tokenizer='char' to LossGenerator for a character "
                             "language model, or token ids (a 2-D integer array)")
        if isinstance(X, np.ndarray) and X.ndim == 2 or not len(X) or np.ndim(X[0]) == 0:
            arr = np.asarray(X)
            if arr.ndim == 1:
                arr = arr[None, :]
            if arr.ndim != 2:
                raise ValueError(f"token sequences must be a 2-D integer array (n_sequences, T), got shape {arr.shape}")
            seqs = list(arr)
        else:
            seqs = [np.asarray(s) for s in X]
        out = []
        V = getattr(self, "_V", None)
        for s in seqs:
            if s.ndim != 1:
                raise ValueError("each token sequence must be 1-D")
            if s.size and (s.dtype.kind not in "iu" and not (s.dtype.kind == "f" and np.all(s == np.round(s)))):
                raise ValueError(f"token ids must be integers, got dtype {s.dtype}")
            s = s.astype(np.int64)
            pad = s == ign
            bad = (~pad) & ((s < 0) | (V is not None and not fitting and s >= V))
            if np.any(bad):
                lim = f"[0, {V})" if V is not None and not fitting else "[0, ∞)"
                raise ValueError(f"token ids must lie in {lim} (or equal ignore_index={ign} for padding); "
                                 f"got {np.unique(s[bad])[:5].tolist()}")
            out.append(np.where(pad, -1, s).astype(np.intp))
        return out

    def _windows(self, seqs):
        """Context windows (n_positions, S) (boundary = V) and the targets (n_positions,), sequence index."""
        k, V = self._k, self._V
        chunks = []
        pad = np.full(k, -1, dtype=np.intp)
        for s in seqs:
            chunks += [pad, s]
        chunks.append(pad)
        A = np.concatenate(chunks) if chunks else pad
        seq_id = np.concatenate([np.full(k, -1, np.intp)] + [np.concatenate([np.full(s.size, i, np.intp),
                                                                             np.full(k, -1, np.intp)])
                                                             for i, s in enumerate(seqs)])
        pos = np.flatnonzero(A >= 0)
        offs = list(range(-k, 0)) + (list(range(1, k + 1)) if self._masked_model else [])
        ctx = np.stack([A[pos + o] for o in offs], axis=1) if pos.size else np.zeros((0, len(offs)), np.intp)
        ctx = np.where(ctx < 0, V, ctx)
        return ctx, A[pos], seq_id[pos]

    def _features(self, ctx):
        n, S = ctx.shape
        cols = (ctx + (self._V + 1) * np.arange(S)[None, :]).ravel()
        return sp.csr_matrix((np.ones(n * S), cols, np.arange(0, n * S + 1, S)),
                             shape=(n, S * (self._V + 1)))

    # ------------------------------------------------------------ fit
    def fit(self, X, y=None, sample_weight=None):
        from ...losses import get_loss
        from ...solvers import LBFGSSolver, Problem
        from ...solvers._base import gradient_certificate

        self._linear_only("linear softmax language model")
        self._opts = o = self._settings()
        self._masked_model = self._masked(self.loss)
        self._k = int(o["context"])
        self._V = None
        seqs = self._sequences(X, fitting=True)
        if o["tokenizer"] == "char":
            V = len(self._tok.vocabulary_)
        else:
            top = max((int(s.max()) for s in seqs if s.size), default=-1)
            V = int(o["vocab_size"]) if o["vocab_size"] is not None else top + 1
            if top >= V:
                raise ValueError(f"token ids must lie in [0, vocab_size={V}); got {top}")
        self._V = V
        n_seq = len(seqs)
        sw = np.ones(n_seq) if sample_weight is None else np.asarray(sample_weight, dtype=np.float64).ravel()
        if sw.shape != (n_seq,) or not np.all(np.isfinite(sw)) or np.any(sw < 0):
            raise ValueError(f"sample_weight must hold one non-negative weight per sequence ({n_seq})")
        ctx, tgt, owner = self._windows(seqs)
        w = sw[owner]
        keep = w > 0
        ctx, tgt, w = ctx[keep], tgt[keep], w[keep]
        if tgt.size == 0:
            raise ValueError("no token to train on: the sequences are empty (or all padding / zero weight)")
        classes = np.unique(tgt)
        cls_index = np.full(V, -1, dtype=np.intp)
        cls_index[classes] = np.arange(classes.size)
        yk = cls_index[tgt]
        C = float(o["C"])
        total = float(w.sum())
        K = classes.size
        # identical windows are merged (their target counts become soft targets): the same objective
        # (sum over positions), with one row per distinct window
        uctx, inv = self._unique_rows(ctx)
        Q = np.zeros((uctx.shape[0], K))
        np.add.at(Q, (inv, yk), w)
        mass = Q.sum(axis=1)
        Q /= mass[:, None]
        F = self._features(uctx)
        loss = get_loss("cross_entropy")
        if K == 1:  # one token only: probability 1, nothing to fit
            coef, intercept = np.zeros((F.shape[1], 1)), np.zeros(1)
            cert, kind, n_iter, converged, objective = 0.0, "gradient_norm", 0, True, 0.0
        elif np.isinf(C) and self._k == 1 and not self._masked_model:
            coef, intercept = self._count_bigram(uctx[:, 0], Q * mass[:, None], K)
            problem = Problem(X=F, y=Q, sample_weight=mass, loss=loss, penalty=None, alpha=0.0,
                              fit_intercept=True, n_outputs=K)
            cert, kind, n_iter, converged = gradient_certificate(problem, coef, intercept), "gradient_norm", 1, True
            objective = self._objective(problem, coef, intercept)
        else:
            penalty, alpha = (None, 0.0) if np.isinf(C) else ("l2", 1.0 / (C * total))
            problem = Problem(X=F, y=Q, sample_weight=mass, loss=loss, penalty=penalty, alpha=alpha,
                              fit_intercept=True, n_outputs=K)
            freq = np.bincount(yk, weights=w, minlength=K) / total
            b0 = np.log(freq) - np.log(freq).mean()
            solver = LBFGSSolver(max_iter=int(self.max_iter), tol=self.tol, verbose=self.verbose)
            res = solver.solve(problem, np.zeros((F.shape[1], K)), b0)
            coef, intercept = res.coef, np.asarray(res.intercept, dtype=np.float64)
            cert, kind, n_iter, converged = float(res.certificate), res.certificate_kind, int(res.n_iter), res.converged
            objective = float(res.objective)
        self.coef_ = np.asarray(coef).T.copy()
        self.intercept_ = np.atleast_1d(intercept).astype(np.float64)
        self.classes_ = classes
        self.vocab_size_ = V
        self.context_ = self._k
        self.n_features_ = F.shape[1]
        self.objective_ = float(objective)
        self.optimality_ = float(cert)
        self.optimality_kind_ = kind
        self.n_iter_ = int(n_iter)
        self.n_tokens_ = int(tgt.size)
        self.token_frequencies_ = np.bincount(tgt, weights=w, minlength=V) / total
        if o["tokenizer"] == "char":
            self.vocabulary_ = list(self._tok.vocabulary_)
        lengths = [s.size for s in seqs]
        self._sample_length = int(o["sample_length"] or max(int(np.median(lengths)), 1))
        warn_if_short(f"{self.loss.name!r} linear softmax language model (L-BFGS)", self.optimality_,
                      self.tol, converged, self.max_iter, stacklevel=5)
        return self

    @staticmethod
    def _objective(problem, coef, intercept):
        from ...solvers._base import objective
        return float(objective(problem, coef, intercept)[0])

    def _unique_rows(self, ctx):
        """The distinct windows and the index of each position's window."""
        S = ctx.shape[1]
        if S * np.log2(self._V + 1) < 62:  # one int64 key per window
            key = (ctx.astype(np.int64) * (self._V + 1) ** np.arange(S, dtype=np.int64)[None, :]).sum(axis=1)
            _, first, inv = np.unique(key, return_index=True, return_inverse=True)
            return ctx[first], inv.ravel()
        u, inv = np.unique(ctx, axis=0, return_inverse=True)
        return u, inv.ravel()

    def _count_bigram(self, prev, counts_rows, K):
        """The unregularised window-1 model: log conditional frequencies (count MLE)."""
        V1 = self._V + 1
        counts = np.zeros((V1, K))
        np.add.at(counts, prev, counts_rows)
        rows = counts.sum(axis=1, keepdims=True)
        uni = counts.sum(axis=0) / counts.sum()
        with np.errstate(divide="ignore"):
            cond = np.where(rows > 0, counts / np.where(rows > 0, rows, 1.0), uni[None, :])
            coef = np.where(cond > 0, np.log(cond), _LOG_FLOOR)
        return coef, np.zeros(K)

    # ------------------------------------------------------------ inference
    def _log_proba_windows(self, ctx):
        """log p(token | window) over the V tokens, (n, V); -inf for tokens never seen as targets."""
        L = log_softmax(np.asarray(self._features(ctx) @ self.coef_.T) + self.intercept_, axis=1)
        out = np.full((ctx.shape[0], self._V), -np.inf)
        out[:, self.classes_] = L
        return out

    def _position_log_lik(self, X):
        seqs = self._sequences(X)
        ctx, tgt, owner = self._windows(seqs)
        ll = self._log_proba_windows(ctx)[np.arange(tgt.size), tgt] if tgt.size else np.zeros(0)
        return ll, owner, len(seqs)

    def score(self, X, y=None):
        """Mean log-likelihood per token (``masked_lm``: pseudo-log-likelihood)."""
        ll, _, _ = self._position_log_lik(X)
        if ll.size == 0:
            raise ValueError("no token to score: the sequences are empty")
        return float(ll.mean())

    def perplexity(self, X):
        """``exp(−score(X))``: the perplexity per token."""
        return float(np.exp(-self.score(X)))

    def score_samples(self, X):
        """Log-probability of each sequence, ``Σ_t log p(x_t | x_{t−k} … x_{t−1})``."""
        ll, owner, n = self._position_log_lik(X)
        return np.bincount(owner, weights=ll, minlength=n)

    def _contexts(self, X):
        S = self._k * (2 if self._masked_model else 1)
        if self._opts["tokenizer"] == "char" and (isinstance(X, str) or any(isinstance(t, str) for t in X)):
            if isinstance(X, str):
                X = [X]
            if not all(isinstance(t, str) and len(t) == S for t in X):
                raise ValueError(f"contexts must be strings of {S} characters (or a 2-D array of token ids)")
            ctx = np.stack([self._tok.encode(t) for t in X]) if len(X) else np.zeros((0, S), np.intp)
        else:
            ign = int(getattr(self.loss, "ignore_index", -100))
            ctx = np.asarray(X)
            if ctx.ndim != 2 or ctx.shape[1] != S:
                raise ValueError(f"contexts must be an integer array of shape (n, {S}) "
                                 f"({'k left then k right tokens' if self._masked_model else 'the k previous tokens, oldest first'}; "
                                 f"ignore_index={ign} for the sequence boundary), got shape {ctx.shape}")
            ctx = ctx.astype(np.int64)
            bad = (ctx != ign) & ((ctx < 0) | (ctx >= self._V))
            if np.any(bad):
                raise ValueError(f"token ids must lie in [0, {self._V}) (or equal ignore_index={ign}); "
                                 f"got {np.unique(ctx[bad])[:5].tolist()}")
            ctx = np.where(ctx == ign, self._V, ctx)
        return ctx.astype(np.intp)

    def predict_proba(self, X):
        """Next-token (masked-token) probabilities ``(n, vocab_size)`` given context windows."""
        return np.exp(self._log_proba_windows(self._contexts(X)))

    def predict(self, X):
        """The most probable token of each context window."""
        return np.argmax(self._log_proba_windows(self._contexts(X)), axis=1)

    def _draw(self, logp, rng):
        p = np.exp(logp - logp.max(axis=1, keepdims=True))
        cdf = np.cumsum(p, axis=1)
        u = rng.random_sample(p.shape[0]) * cdf[:, -1]
        return np.minimum((cdf < u[:, None]).sum(axis=1), self._V - 1)

    def sample(self, n_samples=1, y=None, random_state=None, length=None):
        """``n_samples`` sequences of ``length`` tokens: ancestral (autoregressive) or Gibbs (masked) sampling.

        Returns token ids ``(n_samples, length)``, or a list of strings with the char tokenizer.
        """
        rng = check_random_state(random_state)
        n = int(n_samples)
        T = int(length or self._sample_length)
        k, V = self._k, self._V
        A = np.full((n, T + 2 * k), V, dtype=np.intp)  # boundary on both sides
        if not self._masked_model:
            for t in range(k, k + T):
                A[:, t] = self._draw(self._log_proba_windows(A[:, t - k:t]), rng)
        else:
            A[:, k:k + T] = rng.choice(V, size=(n, T), p=self.token_frequencies_)
            offs = np.r_[np.arange(-k, 0), np.arange(1, k + 1)]
            for _ in range(int(self._opts["n_sweeps"])):
                for t in range(k, k + T):
                    A[:, t] = self._draw(self._log_proba_windows(A[:, t + offs]), rng)
        out = A[:, k:k + T]
        if self._opts["tokenizer"] == "char":
            return [self._tok.decode(row) for row in out]
        return out
