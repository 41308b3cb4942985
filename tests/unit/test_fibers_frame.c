/* test_fibers_frame.c: frames, quaternions, slerp and bislerp of the LDRB rules against the
 * golden vectors of finsberg/ldrb's tests (specs/fibers.md §1.5, tests T6, T7, T14). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include <math.h>
#include <stdint.h>
#include <stdlib.h>

#include "fibers.h"

static double col_dot(double A[3][3], int i, double B[3][3], int j)
{
	return A[0][i] * B[0][j] + A[1][i] * B[1][j] + A[2][i] * B[2][j];
}

static void assert_col(double Q[3][3], int c, double x, double y, double z, double tol)
{
	assert_true(fabs(Q[0][c] - x) < tol && fabs(Q[1][c] - y) < tol && fabs(Q[2][c] - z) < tol);
}

static double det3(double Q[3][3])
{
	return Q[0][0] * (Q[1][1] * Q[2][2] - Q[1][2] * Q[2][1]) - Q[0][1] * (Q[1][0] * Q[2][2] - Q[1][2] * Q[2][0]) +
	       Q[0][2] * (Q[1][0] * Q[2][1] - Q[1][1] * Q[2][0]);
}

/* max |Q^T Q - I| and |det Q - 1| */
static double rotation_defect(double Q[3][3])
{
	double d = fabs(det3(Q) - 1);
	for (int i = 0; i < 3; i++)
		for (int j = 0; j < 3; j++)
			d = fmax(d, fabs(col_dot(Q, i, Q, j) - (i == j)));
	return d;
}

static uint64_t rng = 88172645463325252ull;
static double urand(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return (double)(rng >> 11) / 9007199254740992.0;
}

static void random_rotation(double Q[3][3])
{
	double q[4], n = 0;
	for (int k = 0; k < 4; k++) {
		q[k] = 2 * urand() - 1;
		n += q[k] * q[k];
	}
	for (int k = 0; k < 4; k++)
		q[k] /= sqrt(n);
	ctw_quat2rot(q, Q);
}

/* ldrb tests/test_ldrb.py: u = (0,1,0), v = (-1,0,0), hence e0 = (0,0,1) */
static void test_axis_orient_golden(void **state)
{
	const double u[3] = { 0, 1, 0 }, v[3] = { -1, 0, 0 };
	double Q[3][3], R[3][3];
	(void)state;

	assert_int_equal(ctw_frame_axis(u, v, Q), 0);
	assert_col(Q, 0, 0, 0, 1, 1e-15);
	assert_col(Q, 1, 0, 1, 0, 1e-15);
	assert_col(Q, 2, -1, 0, 0, 1e-15);
	ctw_frame_orient(Q, 30, 0, R);
	assert_col(R, 0, 0, 0.5, sqrt(3) / 2, 1e-12);
	assert_col(R, 1, 0, sqrt(3) / 2, -0.5, 1e-12);
	assert_col(R, 2, -1, 0, 0, 1e-12);
	ctw_frame_orient(Q, 0, 30, R);
	assert_col(R, 0, 0, 0, 1, 1e-12);
	assert_col(R, 1, 0.5, sqrt(3) / 2, 0, 1e-12);
	assert_col(R, 2, -sqrt(3) / 2, 0.5, 0, 1e-12);

	/* degenerate inputs are reported, never NaN */
	const double z[3] = { 0, 0, 0 }, par[3] = { 0, 2, 0 };
	assert_int_equal(ctw_frame_axis(z, v, Q), -1);
	assert_int_equal(ctw_frame_axis(u, par, Q), -1);
	assert_true(rotation_defect(Q) < 1e-15);
}

static void test_axis_orthogonalises(void **state)
{
	(void)state;
	for (int i = 0; i < 1000; i++) {
		double u[3], v[3], Q[3][3], R[3][3];
		for (int k = 0; k < 3; k++)
			u[k] = 2 * urand() - 1, v[k] = 2 * urand() - 1;
		assert_int_equal(ctw_frame_axis(u, v, Q), 0);
		assert_true(rotation_defect(Q) < 1e-12);
		/* e1 is along u, e2 in the plane of u and v on v's side */
		const double nu = sqrt(u[0] * u[0] + u[1] * u[1] + u[2] * u[2]);
		assert_true(fabs((Q[0][1] * u[0] + Q[1][1] * u[1] + Q[2][1] * u[2]) - nu) < 1e-12);
		assert_true(Q[0][2] * v[0] + Q[1][2] * v[1] + Q[2][2] * v[2] > 0);
		ctw_frame_orient(Q, 180 * urand() - 90, 180 * urand() - 90, R);
		assert_true(rotation_defect(R) < 1e-12); /* T7 */
	}
}

/* T14: with alpha = 0 the fibre is e0 whatever beta, and column 2 is at angle beta from e2 */
static void test_beta(void **state)
{
	const double u[3] = { 0.3, 1, 0.2 }, v[3] = { -1, 0.1, 0.4 };
	double Q[3][3], R[3][3];
	(void)state;

	assert_int_equal(ctw_frame_axis(u, v, Q), 0);
	for (double b = -90; b <= 90; b += 15) {
		ctw_frame_orient(Q, 0, b, R);
		assert_true(fabs(col_dot(R, 0, Q, 0) - 1) < 1e-14);
		assert_true(fabs(acos(fmin(1, col_dot(R, 2, Q, 2))) * 180 / 3.14159265358979323846 - fabs(b)) < 1e-9);
		/* and beta never moves f for alpha != 0 either */
		double R0[3][3];
		ctw_frame_orient(Q, 35, 0, R0);
		ctw_frame_orient(Q, 35, b, R);
		assert_true(fabs(col_dot(R, 0, R0, 0) - 1) < 1e-14);
	}
}

static int shepperd_branch(double Q[3][3])
{
	if (Q[0][0] + Q[1][1] + Q[2][2] > 0)
		return 0;
	if (Q[0][0] > Q[1][1] && Q[0][0] > Q[2][2])
		return 1;
	return Q[1][1] > Q[2][2] ? 2 : 3;
}

static void test_quaternion_round_trip(void **state)
{
	int branches[4] = { 0 };
	double worst = 0;
	(void)state;

	for (int i = 0; i < 10000; i++) {
		double Q[3][3], q[4], R[3][3];
		random_rotation(Q);
		branches[shepperd_branch(Q)]++;
		ctw_rot2quat(Q, q);
		ctw_quat2rot(q, R);
		for (int r = 0; r < 3; r++)
			for (int c = 0; c < 3; c++)
				worst = fmax(worst, fabs(R[r][c] - Q[r][c]));
	}
	/* the rotations by pi about each axis, exactly on the branch boundaries */
	double flips[3][3][3] = { { { 1, 0, 0 }, { 0, -1, 0 }, { 0, 0, -1 } },
				  { { -1, 0, 0 }, { 0, 1, 0 }, { 0, 0, -1 } },
				  { { -1, 0, 0 }, { 0, -1, 0 }, { 0, 0, 1 } } };
	for (int i = 0; i < 3; i++) {
		double q[4], R[3][3];
		ctw_rot2quat(flips[i], q);
		ctw_quat2rot(q, R);
		for (int r = 0; r < 3; r++)
			for (int c = 0; c < 3; c++)
				worst = fmax(worst, fabs(R[r][c] - flips[i][r][c]));
	}
	print_message("round trip: worst %.3g; branches %d %d %d %d\n", worst, branches[0], branches[1], branches[2],
		      branches[3]);
	assert_true(worst < 1e-12);
	for (int b = 0; b < 4; b++)
		assert_true(branches[b] > 100);
}

static void test_slerp_ends(void **state)
{
	(void)state;
	for (int i = 0; i < 1000; i++) {
		double A[3][3], B[3][3], qa[4], qb[4], q[4];
		random_rotation(A);
		random_rotation(B);
		ctw_rot2quat(A, qa);
		ctw_rot2quat(B, qb);
		ctw_slerp(qa, qb, 0, q);
		for (int k = 0; k < 4; k++)
			assert_true(fabs(q[k] - qa[k]) < 1e-12);
		ctw_slerp(qa, qb, 1, q);
		const double s = q[0] * qb[0] + q[1] * qb[1] + q[2] * qb[2] + q[3] * qb[3] < 0 ? -1 : 1;
		for (int k = 0; k < 4; k++)
			assert_true(fabs(q[k] - s * qb[k]) < 1e-12);
		/* halfway: unit, and equally far from both ends */
		ctw_slerp(qa, qb, 0.5, q);
		const double da = fabs(q[0] * qa[0] + q[1] * qa[1] + q[2] * qa[2] + q[3] * qa[3]);
		const double db = fabs(q[0] * qb[0] + q[1] * qb[1] + q[2] * qb[2] + q[3] * qb[3]);
		assert_true(fabs(q[0] * q[0] + q[1] * q[1] + q[2] * q[2] + q[3] * q[3] - 1) < 1e-12);
		assert_true(fabs(da - db) < 1e-9);
	}
}

/* ldrb tests/test_ldrb.py::test_bislerp */
static void test_bislerp_golden(void **state)
{
	double Qa[3][3] = { { -0.1145090439760228, -0.67883412599201054, -0.72530814709084901 },
			    { 0.52470693935981916, 0.57863132132197759, -0.62439444405986955 },
			    { 0.84354626822442202, -0.45207302880601674, 0.28993045716310317 } };
	double Qb[3][3] = { { -0.04821968810650662, -0.68803994883005382, 0.72406898186073976 },
			    { -0.51030589763757894, 0.64013348825587579, 0.57429696851861345 },
			    { -0.85864005992919767, -0.34180425103749279, -0.38197788084846285 } };
	const double expected[3][3] = { { 0.04510129, -0.68529013, 0.72687228 },
					{ -0.52014838, 0.60509228, 0.60275119 },
					{ -0.85288424, -0.4052663, -0.32916211 } };
	double Q[3][3];
	(void)state;

	ctw_bislerp(Qa, Qb, 0.42738328729654113, Q);
	for (int r = 0; r < 3; r++)
		for (int c = 0; c < 3; c++)
			assert_true(fabs(Q[r][c] - expected[r][c]) < 1e-8);
	/* t = 1 gives Qb, t = 0 a copy of Qa with two axes flipped (the same axes up to sign) */
	ctw_bislerp(Qa, Qb, 1, Q);
	for (int r = 0; r < 3; r++)
		for (int c = 0; c < 3; c++)
			assert_true(fabs(Q[r][c] - Qb[r][c]) < 1e-12);
	ctw_bislerp(Qa, Qb, 0, Q);
	for (int c = 0; c < 3; c++)
		assert_true(fabs(fabs(col_dot(Q, c, Qa, c)) - 1) < 1e-12);
	assert_true(rotation_defect(Q) < 1e-12);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_axis_orient_golden),  cmocka_unit_test(test_axis_orthogonalises),
		cmocka_unit_test(test_beta),                cmocka_unit_test(test_quaternion_round_trip),
		cmocka_unit_test(test_slerp_ends),          cmocka_unit_test(test_bislerp_golden),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
