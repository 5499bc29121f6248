"""Hooks of the sphinx-gallery configuration (named by string in ``conf.py``, so that the
configuration stays picklable and Sphinx can cache it)."""
import os

#: command-line arguments given to an example when the gallery runs it (default: none)
GALLERY_ARGV = {
    # the language-model part on a smaller corpus: ~7 s instead of ~18 s
    "generative_vae_vq_lm.py": ["--quick"],
}


def reset_argv(gallery_conf, script_vars):
    """``sys.argv[1:]`` for the example being run by the gallery."""
    return list(GALLERY_ARGV.get(os.path.basename(script_vars["src_file"]), []))
