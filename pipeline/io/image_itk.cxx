// image_itk.cxx: the ITK adapter for image files and DICOM series. The only file of pipeline/
// that includes ITK or GDCM headers; every entry point catches every exception.
#include "image_itk.h"

#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>
#include <string>
#include <vector>

#include "gdcmTrace.h"
#include "gdcmUIDGenerator.h"
#include "gdcmVersion.h"
#include "itkGDCMImageIO.h"
#include "itkImage.h"
#include "itkImageFileReader.h"
#include "itkImageFileWriter.h"
#include "itkImageIOFactory.h"
#include "itkImageSeriesWriter.h"
#include "itkMetaDataObject.h"
#include "itkVersion.h"

namespace {

using Comp = itk::IOComponentEnum;

void quiet()
{
	itk::Object::GlobalWarningDisplayOff();
	gdcm::Trace::WarningOff();
	gdcm::Trace::DebugOff();
}

int fail(ctw_ctx *ctx, const char *path, const std::exception &e, ctw_status code = CTW_ERR_FORMAT,
	 const char *prefix = "")
{
	const itk::ExceptionObject *ie = dynamic_cast<const itk::ExceptionObject *>(&e);
	std::string msg = ie ? ie->GetDescription() : e.what();
	while (!msg.empty() && (msg.back() == '\n' || msg.back() == ' ' || msg.back() == '.'))
		msg.pop_back();
	for (char &c : msg)
		if (c == '\n')
			c = ' ';
	return ctw_error(ctx, code, path, "%s%s", prefix, msg.c_str());
}

void comp_info(Comp c, ctw_image_info *info)
{
	struct row {
		Comp c;
		const char *name;
		ctw_dtype t;
	};
	static const row rows[] = {
		{ Comp::UCHAR, "uint8", CTW_U8 },      { Comp::CHAR, "int8", CTW_I16 },
		{ Comp::USHORT, "uint16", CTW_U16 },   { Comp::SHORT, "int16", CTW_I16 },
		{ Comp::UINT, "uint32", CTW_F32 },     { Comp::INT, "int32", CTW_I32 },
		{ Comp::ULONG, "uint64", CTW_F32 },    { Comp::LONG, "int64", CTW_F32 },
		{ Comp::LONGLONG, "int64", CTW_F32 },  { Comp::ULONGLONG, "uint64", CTW_F32 },
		{ Comp::FLOAT, "float32", CTW_F32 },   { Comp::DOUBLE, "float64", CTW_F32 },
		{ Comp::LDOUBLE, "float128", CTW_F32 },
	};
	std::snprintf(info->pixel_type, sizeof(info->pixel_type), "unknown");
	info->dtype = CTW_F32;
	for (const row &r : rows) {
		if (r.c == c) {
			std::snprintf(info->pixel_type, sizeof(info->pixel_type), "%s", r.name);
			info->dtype = r.t;
		}
	}
}

template <typename T> using Img3 = itk::Image<T, 3>;

template <typename T> void set_geometry(const Img3<T> *img, ctw_volume *v)
{
	for (int c = 0; c < 3; c++) {
		v->spacing[c] = img->GetSpacing()[c];
		v->origin[c] = img->GetOrigin()[c];
		for (int r = 0; r < 3; r++)
			v->direction[r][c] = img->GetDirection()[r][c];
	}
}

template <typename T> int read_as(ctw_ctx *ctx, const char *path, ctw_volume *v)
{
	using Reader = itk::ImageFileReader<Img3<T>>;
	typename Reader::Pointer r = Reader::New();
	r->SetFileName(path);
	r->Update();
	typename Img3<T>::Pointer img = r->GetOutput();
	typename Img3<T>::SizeType sz = img->GetBufferedRegion().GetSize();
	if ((int64_t)sz[0] != v->dim[0] || (int64_t)sz[1] != v->dim[1] || (int64_t)sz[2] != v->dim[2])
		return ctw_error(ctx, CTW_ERR_FORMAT, path, "image size changed while reading");
	std::memcpy(v->data, img->GetBufferPointer(), sizeof(T) * (size_t)ctw_volume_count(v));
	set_geometry<T>(img.GetPointer(), v);
	return CTW_OK;
}

// Wraps v's buffer (not copied, not owned) in an ITK image with its geometry.
template <typename T> typename Img3<T>::Pointer wrap(const ctw_volume *v)
{
	typename Img3<T>::Pointer img = Img3<T>::New();
	typename Img3<T>::RegionType region;
	typename Img3<T>::SpacingType sp;
	typename Img3<T>::PointType org;
	typename Img3<T>::DirectionType dir;
	for (int c = 0; c < 3; c++) {
		region.SetSize(c, (itk::SizeValueType)v->dim[c]);
		sp[c] = v->spacing[c];
		org[c] = v->origin[c];
		for (int r = 0; r < 3; r++)
			dir[r][c] = v->direction[r][c];
	}
	img->SetRegions(region);
	img->SetSpacing(sp);
	img->SetOrigin(org);
	img->SetDirection(dir);
	img->GetPixelContainer()->SetImportPointer(static_cast<T *>(v->data),
						   (itk::SizeValueType)ctw_volume_count(v), false);
	return img;
}

template <typename T> void write_as(const ctw_volume *v, const char *path)
{
	using Writer = itk::ImageFileWriter<Img3<T>>;
	typename Writer::Pointer w = Writer::New();
	w->SetInput(wrap<T>(v));
	w->SetFileName(path);
	w->SetUseCompression(true);
	w->Update();
}

// A DICOM decimal string (at most 16 characters) with as many digits as fit.
std::string ds(double x)
{
	char buf[64];
	if (x == 0.0 || (x > -1e-12 && x < 1e-12))
		return "0";
	for (int prec = 15; prec > 0; prec--) {
		std::snprintf(buf, sizeof(buf), "%.*g", prec, x);
		if (std::strlen(buf) <= 16)
			break;
	}
	return buf;
}

// Copies the whole content of fd to path with checked writes (a full disk is an error, never
// an assertion inside GDCM as when GDCM writes to the disk itself). 0 or an errno value.
int copy_fd_to(int fd, const char *path)
{
	char buf[1 << 16];
	int out, err = 0;
	if (lseek(fd, 0, SEEK_SET) != 0)
		return errno;
	out = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0666);
	if (out < 0)
		return errno;
	for (;;) {
		ssize_t n = read(fd, buf, sizeof(buf)), done = 0;
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			err = errno;
			break;
		}
		if (n == 0)
			break;
		while (done < n) {
			ssize_t w = write(out, buf + done, (size_t)(n - done));
			if (w < 0 && errno == EINTR)
				continue;
			if (w <= 0) {
				err = w < 0 ? errno : ENOSPC;
				break;
			}
			done += w;
		}
		if (err)
			break;
	}
	if (close(out) != 0 && !err)
		err = errno;
	if (err)
		unlink(path);
	return err;
}

// Writes slices [k0, k0 + n) of v as dir/IM<k+1>.dcm. GDCM asserts (abort) when its stream
// fails, so it writes each slice into an anonymous memory file and we copy that to the disk.
// 0, or an errno value with *failed the file that could not be written.
template <typename T>
int write_dicom_as(const ctw_volume *v, const char *dir, const ctw_dicom_meta *meta, std::string *failed)
{
	using Img2 = itk::Image<T, 2>;
	using Writer = itk::ImageSeriesWriter<Img3<T>, Img2>;
	gdcm::UIDGenerator gen;
	const std::string study = gen.Generate(), series = gen.Generate(), frame = gen.Generate();
	const bool ct = std::strcmp(meta->modality, "CT") == 0;
	const size_t slice = (size_t)(v->dim[0] * v->dim[1]);
	std::string iop;
	for (int c = 0; c < 2; c++)
		for (int r = 0; r < 3; r++)
			iop += (iop.empty() ? "" : "\\") + ds(v->direction[r][c]);

	int mem = memfd_create("ctw-dicom-slice", 0);
	if (mem < 0) {
		*failed = dir;
		return errno;
	}
	const std::string memname = "/proc/self/fd/" + std::to_string(mem);
	for (int64_t k = 0; k < v->dim[2]; k++) {
		itk::MetaDataDictionary d;
		double ijk[3] = { 0, 0, (double)k }, p[3];
		char name[32];
		ctw_volume_index_to_world(v, ijk, p);
		auto set = [&d](const char *tag, const std::string &val) {
			itk::EncapsulateMetaData<std::string>(d, tag, val);
		};
		set("0008|0016", ct ? "1.2.840.10008.5.1.4.1.1.2" : "1.2.840.10008.5.1.4.1.1.4");
		set("0008|0018", gen.Generate());
		set("0008|0060", meta->modality);
		set("0008|103e", meta->series_description);
		set("0010|0010", "");
		set("0010|0020", "");
		set("0020|000d", study);
		set("0020|000e", series);
		set("0020|0052", frame);
		set("0020|0011", "1");
		set("0020|0013", std::to_string(k + 1));
		set("0020|0032", ds(p[0]) + "\\" + ds(p[1]) + "\\" + ds(p[2]));
		set("0020|0037", iop);
		set("0028|0030", ds(v->spacing[1]) + "\\" + ds(v->spacing[0]));
		set("0018|0050", ds(v->spacing[2]));
		set("0018|0088", ds(v->spacing[2]));
		set("0028|0004", "MONOCHROME2");
		set("0028|1052", "0");
		set("0028|1053", "1");
		// slice k as a one-slice volume at its own position
		ctw_volume one = *v;
		one.dim[2] = 1;
		one.data = static_cast<T *>(v->data) + (size_t)k * slice;
		for (int r = 0; r < 3; r++)
			one.origin[r] = p[r];
		if (ftruncate(mem, 0) != 0) {
			*failed = dir;
			close(mem);
			return errno;
		}
		typename Writer::DictionaryArrayType ptrs;
		ptrs.push_back(&d);
		std::vector<std::string> files(1, memname);
		itk::GDCMImageIO::Pointer io = itk::GDCMImageIO::New();
		io->KeepOriginalUIDOn();
		typename Writer::Pointer w = Writer::New();
		w->SetInput(wrap<T>(&one));
		w->SetImageIO(io);
		w->SetFileNames(files);
		w->SetMetaDataDictionaryArray(&ptrs);
		w->Update();
		std::snprintf(name, sizeof(name), "/IM%04lld.dcm", (long long)k + 1);
		std::string path = std::string(dir) + name;
		int err = copy_fd_to(mem, path.c_str());
		if (err) {
			*failed = path;
			close(mem);
			return err;
		}
	}
	close(mem);
	return 0;
}

} // namespace

extern "C" int ctw_itk_read_info(ctw_ctx *ctx, const char *path, ctw_image_info *info)
{
	try {
		quiet();
		std::memset(info, 0, sizeof(*info));
		itk::ImageIOBase::Pointer io;
		info->n_files = 1;
		info->n_series = 1;
		io = itk::ImageIOFactory::CreateImageIO(path, itk::IOFileModeEnum::ReadMode);
		if (!io)
			return ctw_error(ctx, CTW_ERR_FORMAT, path,
					 "not an image file that can be read (NIfTI, NRRD, MetaImage, DICOM)");
		io->SetFileName(path);
		io->ReadImageInformation();
		std::string cls = io->GetNameOfClass();
		std::string fmt = cls == "NiftiImageIO"	   ? "NIfTI"
				  : cls == "NrrdImageIO"   ? "NRRD"
				  : cls == "MetaImageIO"   ? "MetaImage"
				  : cls == "GDCMImageIO"   ? "DICOM"
							   : cls.substr(0, cls.find("ImageIO"));
		std::snprintf(info->format, sizeof(info->format), "%s", fmt.c_str());
		unsigned nd = io->GetNumberOfDimensions();
		info->ndim = (int)nd;
		for (int c = 0; c < 4; c++)
			info->dim[c] = c < (int)nd ? (int64_t)io->GetDimensions((unsigned)c) : 1;
		for (int c = 0; c < 3; c++) {
			info->spacing[c] = c < (int)nd ? io->GetSpacing((unsigned)c) : 1.0;
			info->origin[c] = c < (int)nd ? io->GetOrigin((unsigned)c) : 0.0;
			std::vector<double> d = c < (int)nd ? io->GetDirection((unsigned)c) : std::vector<double>();
			for (int r = 0; r < 3; r++)
				info->direction[r][c] = r < (int)d.size() ? d[(size_t)r] : (r == c ? 1.0 : 0.0);
		}
		comp_info(io->GetComponentType(), info);
		info->n_components = (int)io->GetNumberOfComponents();
		return CTW_OK;
	} catch (const std::exception &e) {
		return fail(ctx, path, e);
	} catch (...) {
		return ctw_error(ctx, CTW_ERR_INTERNAL, path, "unknown C++ exception in the ITK adapter");
	}
}

extern "C" int ctw_itk_read(ctw_ctx *ctx, const char *path, ctw_volume *v)
{
	try {
		quiet();
		switch (v->dtype) {
		case CTW_U8:
			return read_as<uint8_t>(ctx, path, v);
		case CTW_I16:
			return read_as<int16_t>(ctx, path, v);
		case CTW_U16:
			return read_as<uint16_t>(ctx, path, v);
		case CTW_I32:
			return read_as<int32_t>(ctx, path, v);
		case CTW_F32:
			return read_as<float>(ctx, path, v);
		}
		return ctw_error(ctx, CTW_ERR_INTERNAL, path, "unknown voxel type");
	} catch (const std::exception &e) {
		return fail(ctx, path, e);
	} catch (...) {
		return ctw_error(ctx, CTW_ERR_INTERNAL, path, "unknown C++ exception in the ITK adapter");
	}
}

extern "C" int ctw_itk_read_dicom_slice(ctw_ctx *ctx, const char *path, int rows, int cols,
					 float *out)
{
	try {
		quiet();
		using Img2 = itk::Image<float, 2>;
		using Reader = itk::ImageFileReader<Img2>;
		Reader::Pointer r = Reader::New();
		r->SetImageIO(itk::GDCMImageIO::New());
		r->SetFileName(path);
		r->Update();
		Img2::SizeType sz = r->GetOutput()->GetBufferedRegion().GetSize();
		if ((int)sz[0] != cols || (int)sz[1] != rows)
			return ctw_error(ctx, CTW_ERR_FORMAT, path, "decoded %d x %d pixels, the header says %d x %d",
					 (int)sz[0], (int)sz[1], cols, rows);
		std::memcpy(out, r->GetOutput()->GetBufferPointer(), sizeof(float) * (size_t)rows * (size_t)cols);
		return CTW_OK;
	} catch (const std::exception &e) {
		return fail(ctx, path, e);
	} catch (...) {
		return ctw_error(ctx, CTW_ERR_INTERNAL, path, "unknown C++ exception in the ITK adapter");
	}
}

extern "C" int ctw_itk_write(ctw_ctx *ctx, const ctw_volume *v, const char *path)
{
	try {
		quiet();
		switch (v->dtype) {
		case CTW_U8:
			write_as<uint8_t>(v, path);
			break;
		case CTW_I16:
			write_as<int16_t>(v, path);
			break;
		case CTW_U16:
			write_as<uint16_t>(v, path);
			break;
		case CTW_I32:
			write_as<int32_t>(v, path);
			break;
		case CTW_F32:
			write_as<float>(v, path);
			break;
		}
		return CTW_OK;
	} catch (const std::exception &e) {
		return fail(ctx, path, e, CTW_ERR_IO, "cannot write: ");
	} catch (...) {
		return ctw_error(ctx, CTW_ERR_INTERNAL, path, "unknown C++ exception in the ITK adapter");
	}
}

extern "C" int ctw_itk_write_dicom(ctw_ctx *ctx, const ctw_volume *v, const char *dir,
				   const ctw_dicom_meta *meta)
{
	try {
		quiet();
		std::string failed;
		int err;
		switch (v->dtype) {
		case CTW_U8:
			err = write_dicom_as<uint8_t>(v, dir, meta, &failed);
			break;
		case CTW_I16:
			err = write_dicom_as<int16_t>(v, dir, meta, &failed);
			break;
		case CTW_U16:
			err = write_dicom_as<uint16_t>(v, dir, meta, &failed);
			break;
		default:
			return ctw_error(ctx, CTW_ERR_INVALID, dir,
					 "DICOM series are written from 8 or 16-bit integer volumes, not %s",
					 ctw_dtype_name(v->dtype));
		}
		if (err)
			return ctw_error(ctx, CTW_ERR_EXTERNAL, failed.c_str(), "cannot write: %s%s", std::strerror(err),
					 err == ENOSPC || err == EDQUOT ? "; free some space and run again" : "");
		return CTW_OK;
	} catch (const std::exception &e) {
		return fail(ctx, dir, e, CTW_ERR_IO, "cannot write: ");
	} catch (...) {
		return ctw_error(ctx, CTW_ERR_INTERNAL, dir, "unknown C++ exception in the ITK adapter");
	}
}

extern "C" const char *ctw_itk_version_string(void)
{
	return itk::Version::GetITKVersion();
}

extern "C" const char *ctw_gdcm_version_string(void)
{
	static char buf[32];
	if (!buf[0])
		std::snprintf(buf, sizeof(buf), "%s", gdcm::Version::GetVersion());
	return buf;
}
