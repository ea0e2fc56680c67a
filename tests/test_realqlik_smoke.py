import subprocess


def test_real(real_qlik_bin):
    out = subprocess.run([str(real_qlik_bin), "version"], capture_output=True, text=True)
    assert out.stdout.startswith("version: 1.4.0\t"), out
