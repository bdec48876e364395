"""The packages a lightweight component's command would pip-install, as KFP writes them, read
from the shell text and checked against this environment (nothing is installed)."""

from __future__ import annotations

import pytest

from dagwright.errors import ValidationError
from dagwright.kfp_steps.requirements import check_installed, requirements

# what kfp 2.17 writes for packages_to_install=[...] with pip_index_urls=[...]
KFP_INSTALL = (
    '\nif ! [ -x "$(command -v pip)" ]; then\n    python3 -m ensurepip || python3 -m ensurepip '
    "--user || apt-get install python3-pip\nfi\n\nPIP_DISABLE_PIP_VERSION_CHECK=1 python3 -m pip "
    "install --quiet --no-warn-script-location --index-url https://pypi.example/simple "
    "--trusted-host https://pypi.example/simple 'pyyaml>=5' 'pandas==0.0.1; python_version<\"3\"' "
    "&&  python3 -m pip install --quiet --no-warn-script-location 'kfp==2.0.1' '--no-deps' "
    '\'typing-extensions>=3.7.4,<5; python_version<"3.9"\' && "$0" "$@"\n'
)


def test_the_requirements_are_read_without_options_or_index_urls() -> None:
    assert requirements(KFP_INSTALL) == [
        "pyyaml>=5",
        'pandas==0.0.1; python_version<"3"',
        "kfp==2.0.1",
        'typing-extensions>=3.7.4,<5; python_version<"3.9"',
    ]


def test_kfp_in_another_version_and_markers_that_do_not_apply_pass() -> None:
    check_installed("comp", KFP_INSTALL, "digest-markers")  # nothing raised


def test_a_url_requirement_is_known_by_its_egg_or_as_kfp_from_its_repository() -> None:
    text = (
        "python3 -m pip install 'git+https://github.com/kubeflow/pipelines.git"
        "#subdirectory=sdk/python' 'git+https://example.org/x.git#egg=not-here-xyz' "
        "'https://example.org/wheels/pyyaml-6.0-py3-none-any.whl' 'dist/absent_pkg-1.0.tar.gz'"
    )
    with pytest.raises(ValidationError) as caught:
        check_installed("comp", text, "digest-urls")
    message = str(caught.value)
    assert "not-here-xyz" in message and "absent_pkg-1.0.tar.gz" in message
    assert "kubeflow" not in message and "pyyaml" not in message  # kfp and pyyaml are here


def test_a_requirements_file_is_refused_by_name() -> None:
    with pytest.raises(ValidationError, match="requirements file"):
        requirements("pip install -r requirements.txt")
