/* placeholder until the timer suite lands */
#include "suites.h"
Suite *timer_suite(void)
{
	return suite_create("timer");
}
