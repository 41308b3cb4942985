/* frame.c: local frames, rotations and quaternions of the LDRB rules (specs/fibers.md §1.5).
 * Matrices are row-major Q[r][c]; the columns of a frame are its axes. Quaternions are
 * (w, x, y, z). */
#include "fibers.h"

#include <math.h>
#include <string.h>

#define DEG (3.14159265358979323846 / 180.0)

static double dot3(const double *a, const double *b)
{
	return a[0] * b[0] + a[1] * b[1] + a[2] * b[2];
}

static void cross3(const double *a, const double *b, double *c)
{
	c[0] = a[1] * b[2] - a[2] * b[1];
	c[1] = a[2] * b[0] - a[0] * b[2];
	c[2] = a[0] * b[1] - a[1] * b[0];
}

int ctw_frame_axis(const double u[3], const double v[3], double Q[3][3])
{
	double e0[3], e1[3], e2[3], nu = sqrt(dot3(u, u)), nw, ne;

	memset(Q, 0, 9 * sizeof(double));
	Q[0][0] = Q[1][1] = Q[2][2] = 1;
	if (!(nu > 0) || !isfinite(nu))
		return -1;
	for (int k = 0; k < 3; k++)
		e1[k] = u[k] / nu;
	double c = dot3(e1, v);
	for (int k = 0; k < 3; k++)
		e2[k] = v[k] - c * e1[k];
	nw = sqrt(dot3(e2, e2));
	if (!(nw > 1e-300) || !(nw > 1e-12 * sqrt(dot3(v, v))))
		return -1;
	for (int k = 0; k < 3; k++)
		e2[k] /= nw;
	cross3(e1, e2, e0);
	ne = sqrt(dot3(e0, e0));
	for (int k = 0; k < 3; k++) {
		Q[k][0] = e0[k] / ne;
		Q[k][1] = e1[k];
		Q[k][2] = e2[k];
	}
	return 0;
}

void ctw_frame_orient(double Q[3][3], double alpha_deg, double beta_deg, double R[3][3])
{
	const double ca = cos(alpha_deg * DEG), sa = sin(alpha_deg * DEG);
	const double cb = cos(beta_deg * DEG), sb = sin(beta_deg * DEG);

	for (int k = 0; k < 3; k++) {
		const double e0 = Q[k][0], e1 = Q[k][1], e2 = Q[k][2];
		const double c = -sa * e0 + ca * e1;
		R[k][0] = ca * e0 + sa * e1;
		R[k][1] = cb * c - sb * e2;
		R[k][2] = sb * c + cb * e2;
	}
}

static void qnormalize(double q[4])
{
	double n = sqrt(q[0] * q[0] + q[1] * q[1] + q[2] * q[2] + q[3] * q[3]);
	if (n > 0)
		for (int k = 0; k < 4; k++)
			q[k] /= n;
}

void ctw_rot2quat(double Q[3][3], double q[4])
{
	const double t = Q[0][0] + Q[1][1] + Q[2][2];

	if (t > 0) {
		const double r = sqrt(1 + t), s = 0.5 / r;
		q[0] = 0.5 * r;
		q[1] = (Q[2][1] - Q[1][2]) * s;
		q[2] = (Q[0][2] - Q[2][0]) * s;
		q[3] = (Q[1][0] - Q[0][1]) * s;
	} else if (Q[0][0] > Q[1][1] && Q[0][0] > Q[2][2]) {
		const double s = 2 * sqrt(1 + Q[0][0] - Q[1][1] - Q[2][2]);
		q[0] = (Q[2][1] - Q[1][2]) / s;
		q[1] = 0.25 * s;
		q[2] = (Q[0][1] + Q[1][0]) / s;
		q[3] = (Q[0][2] + Q[2][0]) / s;
	} else if (Q[1][1] > Q[2][2]) {
		const double s = 2 * sqrt(1 + Q[1][1] - Q[0][0] - Q[2][2]);
		q[0] = (Q[0][2] - Q[2][0]) / s;
		q[1] = (Q[0][1] + Q[1][0]) / s;
		q[2] = 0.25 * s;
		q[3] = (Q[1][2] + Q[2][1]) / s;
	} else {
		const double s = 2 * sqrt(1 + Q[2][2] - Q[0][0] - Q[1][1]);
		q[0] = (Q[1][0] - Q[0][1]) / s;
		q[1] = (Q[0][2] + Q[2][0]) / s;
		q[2] = (Q[1][2] + Q[2][1]) / s;
		q[3] = 0.25 * s;
	}
	qnormalize(q);
}

void ctw_quat2rot(const double q[4], double Q[3][3])
{
	const double w = q[0], x = q[1], y = q[2], z = q[3];

	Q[0][0] = 1 - 2 * y * y - 2 * z * z;
	Q[0][1] = 2 * x * y - 2 * w * z;
	Q[0][2] = 2 * x * z + 2 * w * y;
	Q[1][0] = 2 * x * y + 2 * w * z;
	Q[1][1] = 1 - 2 * x * x - 2 * z * z;
	Q[1][2] = 2 * y * z - 2 * w * x;
	Q[2][0] = 2 * x * z - 2 * w * y;
	Q[2][1] = 2 * y * z + 2 * w * x;
	Q[2][2] = 1 - 2 * x * x - 2 * y * y;
}

void ctw_slerp(const double q1[4], const double q2[4], double t, double q[4])
{
	double b[4], d = 0;

	for (int k = 0; k < 4; k++)
		d += q1[k] * q2[k];
	for (int k = 0; k < 4; k++)
		b[k] = d < 0 ? -q2[k] : q2[k];
	d = fabs(d);
	if (t < 0)
		t = 0;
	if (t > 1)
		t = 1;
	if (d < 0.9999) {
		const double th = acos(d), st = sin(th);
		const double wa = sin((1 - t) * th) / st, wb = sin(t * th) / st;
		for (int k = 0; k < 4; k++)
			q[k] = wa * q1[k] + wb * b[k];
	} else {
		for (int k = 0; k < 4; k++)
			q[k] = (1 - t) * q1[k] + t * b[k];
	}
	qnormalize(q);
}

void ctw_bislerp(double Qa[3][3], double Qb[3][3], double t, double Q[3][3])
{
	double qa[4], qb[4], cand[4][4], q[4], best = -1;
	int m = 0;

	ctw_rot2quat(Qa, qa);
	ctw_rot2quat(Qb, qb);
	const double a = qa[0], b = qa[1], c = qa[2], d = qa[3];
	const double cs[4][4] = { { a, b, c, d }, { -b, a, d, -c }, { -c, -d, a, b }, { -d, c, -b, a } };
	memcpy(cand, cs, sizeof(cand));
	for (int i = 0; i < 4; i++) {
		double p = fabs(cand[i][0] * qb[0] + cand[i][1] * qb[1] + cand[i][2] * qb[2] + cand[i][3] * qb[3]);
		if (p > best) {
			best = p;
			m = i;
		}
	}
	ctw_slerp(cand[m], qb, t, q);
	ctw_quat2rot(q, Q);
}

void ctw_slerp_rot(double Qa[3][3], double Qb[3][3], double t, double Q[3][3])
{
	double qa[4], qb[4], q[4];

	ctw_rot2quat(Qa, qa);
	ctw_rot2quat(Qb, qb);
	ctw_slerp(qa, qb, t, q);
	ctw_quat2rot(q, Q);
}
