/* placeholder until the queue suite lands */
#include "suites.h"
Suite *queue_suite(void)
{
	return suite_create("queue");
}
