/* demo.h - the narrated demonstration run behind `refraft-sim --demo`. */
#ifndef REFRAFT_SIM_DEMO_H
#define REFRAFT_SIM_DEMO_H

/* Run the demo, narrating on stdout.  Returns 0 when every stage went as
 * expected, -1 otherwise (the narration says which). */
int demo_run(void);

#endif /* REFRAFT_SIM_DEMO_H */
