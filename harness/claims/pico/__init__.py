"""The PICO claim: is PICO better than each codec at equal rate, measured on the authors' published scenes."""
