/* Which deployer an engine has (deploy.h). */
#include "fleet/deploy.h"

#include <stddef.h>

const struct ash_fleet_deployer *ash_fleet_deployer(int engine)
{
    switch (engine) {
    case ASH_FLEET_SWARM:
        return &ash_fleet_deploy_swarm;
    case ASH_FLEET_KUBERNETES:
        return &ash_fleet_deploy_kube;
    default:
        return NULL;
    }
}
