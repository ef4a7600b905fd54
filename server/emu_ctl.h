#ifndef EMU_CTL_H
#define EMU_CTL_H

/* `lwm2m-emulator ctl --control PATH COMMAND [key=value ...]`: the
 * command-line client of the control socket. argv starts after "ctl".
 * Returns the exit status (0 ok, 1 refused or unreachable, 2 bad usage). */
int emu_ctl_main(int argc, char **argv);

#endif
