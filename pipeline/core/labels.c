/* labels.c: the canonical label vocabulary (DESIGN.md §3, CemrgApp four-chamber numbering). */
#include "ctw.h"

#include <stddef.h>

static const ctw_label canonical[] = {
	{ CTW_LBL_LV_BLOOD, "lv_blood" },
	{ CTW_LBL_LV_MYO, "lv_myo" },
	{ CTW_LBL_RV_BLOOD, "rv_blood" },
	{ CTW_LBL_LA_BLOOD, "la_blood" },
	{ CTW_LBL_RA_BLOOD, "ra_blood" },
	{ CTW_LBL_AORTA, "aorta" },
	{ CTW_LBL_PA, "pulmonary_artery" },
	{ CTW_LBL_LSPV, "lspv" },
	{ CTW_LBL_LIPV, "lipv" },
	{ CTW_LBL_RSPV, "rspv" },
	{ CTW_LBL_RIPV, "ripv" },
	{ CTW_LBL_LAA, "la_appendage" },
	{ CTW_LBL_SVC, "svc" },
	{ CTW_LBL_IVC, "ivc" },
	{ CTW_LBL_RV_MYO, "rv_myo" },
	{ CTW_LBL_LA_WALL, "la_wall" },
	{ CTW_LBL_RA_WALL, "ra_wall" },
	{ CTW_LBL_AORTA_WALL, "aorta_wall" },
	{ CTW_LBL_PA_WALL, "pa_wall" },
	{ CTW_LBL_MITRAL, "mitral_valve_plane" },
	{ CTW_LBL_TRICUSPID, "tricuspid_valve_plane" },
	{ CTW_LBL_AORTIC, "aortic_valve_plane" },
	{ CTW_LBL_PULMONARY, "pulmonary_valve_plane" },
	{ CTW_LBL_HEART, "heart" },
	{ CTW_LBL_AORTA_WHOLE, "aorta_whole" },
	{ CTW_LBL_PULM_VEINS, "pulmonary_veins" },
};

const ctw_label *ctw_canonical_labels(int *n)
{
	*n = (int)(sizeof(canonical) / sizeof(canonical[0]));
	return canonical;
}

const char *ctw_label_name(int value)
{
	size_t i;

	if (value == 0)
		return "background";
	for (i = 0; i < sizeof(canonical) / sizeof(canonical[0]); i++)
		if (canonical[i].value == value)
			return canonical[i].name;
	return NULL;
}
